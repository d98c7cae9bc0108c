"""Table helpers shared by the Spark jobs: create-if-missing, snapshot ids, lineage properties."""

from __future__ import annotations

import json

LINEAGE_UPSTREAM = "lineage.upstream"  # JSON {table: snapshot_id}
LINEAGE_OFFSETS = "lineage.bronze-offsets"  # JSON {bronze table: {partition: [first, last]}}
STATS = "lakehouse.stats"  # JSON {name: number}, this run
TOTALS = "lakehouse.totals"  # JSON {name: number}, cumulative since the last full rebuild


def table_exists(spark, table: str) -> bool:
    return spark.catalog.tableExists(f"lake.{table}")


def create_table_like(spark, table: str, df) -> None:
    """Create ``table`` with ``df``'s schema if it does not exist (v2, WAP-enabled, merge-on-read).

    Creation commits an empty snapshot to ``main``, so a run branch always has a base.
    """
    if table_exists(spark, table):
        return
    writer = df.limit(0).writeTo(f"lake.{table}").using("iceberg")
    for key, value in {
        "format-version": "2",
        "write.wap.enabled": "true",
        # upserts touch few rows: write delete files instead of rewriting whole data files
        "write.merge.mode": "merge-on-read",
        "write.update.mode": "merge-on-read",
        "write.delete.mode": "merge-on-read",
    }.items():
        writer = writer.tableProperty(key, value)
    writer.createOrReplace()


def snapshot_id(spark, table: str, ref: str = "main") -> int | None:
    """Snapshot id ``ref`` points at (None if the table or ref does not exist)."""
    if not table_exists(spark, table):
        return None
    rows = spark.sql(f"SELECT snapshot_id FROM lake.{table}.refs WHERE name = '{ref}'").collect()
    return rows[0].snapshot_id if rows else None


def snapshot_chain(table, snapshot_id: int | None):
    """pyiceberg snapshots from ``snapshot_id`` back through its parents (newest first)."""
    snap = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    while snap is not None:
        yield snap
        snap = table.snapshot_by_id(snap.parent_snapshot_id) if snap.parent_snapshot_id is not None else None


def newest_property(table, snapshot_id: int | None, key: str) -> str | None:
    """The newest value of summary property ``key`` in the ancestry of ``snapshot_id``."""
    for snap in snapshot_chain(table, snapshot_id):
        value = (snap.summary.additional_properties if snap.summary else {}).get(key)
        if value is not None:
            return value
    return None


def lineage_properties(dag_id: str, run_id: str, *, upstream: dict, stats: dict, **extra) -> dict[str, str]:
    props = {
        LINEAGE_UPSTREAM: json.dumps(upstream, sort_keys=True),
        STATS: json.dumps(stats, sort_keys=True),
        "airflow.dag_id": dag_id,
        "airflow.run_id": run_id,
    }
    props.update({k: json.dumps(v, sort_keys=True) for k, v in extra.items()})
    return props
