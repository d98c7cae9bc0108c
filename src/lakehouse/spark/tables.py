"""Spark-side table helpers: create-if-missing, the run's branch for reads and writes, snapshot ids.

Which ref a run reads is decided by :func:`lakehouse.iceberg.snapshots.run_ref`
(pyiceberg, no Spark job); these helpers only turn that into Spark reads and
the ``spark.wap.branch`` write routing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from lakehouse.core.names import CATALOG_NAME, MAIN
from lakehouse.iceberg.catalog import METADATA_RETENTION, get_catalog
from lakehouse.iceberg.snapshots import branch_files, ref_snapshot_id, run_ref, table_or_none

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# v2, WAP-enabled; upserts touch few rows: write delete files instead of rewriting whole data files
TABLE_PROPERTIES = {
    "format-version": "2",
    **METADATA_RETENTION,
    "write.wap.enabled": "true",
    "write.merge.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.delete.mode": "merge-on-read",
}


def qualified(table: str) -> str:
    """``silver.kol_profiles`` -> ``lake.silver.kol_profiles``."""
    return f"{CATALOG_NAME}.{table}"


def table_exists(spark: SparkSession, table: str) -> bool:
    return spark.catalog.tableExists(qualified(table))


def create_table_like(spark: SparkSession, table: str, df: DataFrame) -> None:
    """Create ``table`` with ``df``'s schema if it does not exist; creation commits an empty ``main``,
    so a run branch always has a base. An existing table gets the columns of ``df`` it lacks (nullable:
    a column a newer release writes reaches a lake an older one created; rows before it read null)."""
    if table_exists(spark, table):
        have = {f.name for f in spark.table(qualified(table)).schema.fields}
        missing = [f"{f.name} {f.dataType.simpleString()}" for f in df.schema.fields if f.name not in have]
        if missing:
            spark.sql(f"ALTER TABLE {qualified(table)} ADD COLUMNS ({', '.join(missing)})")
        return
    writer = df.limit(0).writeTo(qualified(table)).using("iceberg")
    for key, value in TABLE_PROPERTIES.items():
        writer = writer.tableProperty(key, value)
    writer.createOrReplace()


def snapshot_id(spark: SparkSession, table: str, ref: str = MAIN) -> int | None:
    """Snapshot id ``ref`` of ``table`` points at (None if the table or ref does not exist)."""
    return ref_snapshot_id(table_or_none(get_catalog(), table), ref)


def run_snapshot_id(table: str, branch: str | None) -> int | None:
    """Snapshot id of the ref this run reads (its branch if the table has it, else ``main``)."""
    meta = table_or_none(get_catalog(), table)
    return ref_snapshot_id(meta, run_ref(meta, branch))


def read_as_of(spark: SparkSession, table: str, branch: str | None) -> DataFrame:
    """``table`` as the run sees it: its branch if it has one, else ``main``."""
    ref = run_ref(table_or_none(get_catalog(), table), branch)
    return spark.read.option("branch", ref).table(qualified(table))


def read_change(spark: SparkSession, table: str, branch: str) -> DataFrame | None:
    """The rows ``branch`` inserted or updated in ``table`` over ``main``, as they stand at the branch head.

    None when there is nothing to tell apart from the whole table: the table has no such branch, the
    branch wrote nothing, or it wrote every live row (a first run; a rewrite of the whole table).
    """
    meta = table_or_none(get_catalog(), table)
    files = branch_files(meta, branch) if meta is not None else None
    if files is None or not files.added or files.added == files.head_files:
        return None
    return read_files(spark, table, files.head, files.added)


def read_files(spark: SparkSession, table: str, snapshot: int, files: Iterable[str]) -> DataFrame:
    """The live rows at ``snapshot`` of ``table`` that sit in ``files`` (Iceberg's ``_file`` column)."""
    from pyspark.sql import functions as F

    return read_snapshot(spark, table, snapshot).where(F.col("_file").isin(sorted(files)))


def read_snapshot(spark: SparkSession, table: str, snapshot: int) -> DataFrame:
    return spark.read.option("snapshot-id", snapshot).table(qualified(table))


def ensure_branch(spark: SparkSession, table: str, branch: str) -> None:
    spark.sql(f"ALTER TABLE {qualified(table)} CREATE BRANCH IF NOT EXISTS `{branch}`")


@contextlib.contextmanager
def writing_to(spark: SparkSession, branch: str | None) -> Iterator[None]:
    """Route reads and writes of WAP-enabled tables to ``branch`` (no-op when None)."""
    if not branch:
        yield
        return
    previous = spark.conf.get("spark.wap.branch", None)
    spark.conf.set("spark.wap.branch", branch)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset("spark.wap.branch")
        else:
            spark.conf.set("spark.wap.branch", previous)


@contextlib.contextmanager
def cached_frames() -> Iterator[Callable[[DataFrame], DataFrame]]:
    """Yield ``cache(df) -> df``; every DataFrame cached through it is released on exit."""
    frames: list[DataFrame] = []

    def cache(df: DataFrame) -> DataFrame:
        frames.append(df.cache())
        return df

    try:
        yield cache
    finally:
        for df in frames:
            df.unpersist()


def timestamp_literal(ms: int) -> str:
    """``TIMESTAMP '...'`` (UTC, milliseconds) for a procedure's ``older_than``."""
    from datetime import UTC, datetime

    return "TIMESTAMP '" + datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "'"
