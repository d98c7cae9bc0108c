"""A year of 15-minute commits, compressed: what N small Bronze commits cost before and after maintenance.

For N = 100, 1,000 and 5,000 commits (10 records each) on one Bronze table:
``load_table`` time, one more ingest commit's latency, and metadata size on disk
(``metadata/``: metadata.json versions, manifest lists, manifests), measured round-robin
over the tables so each sees the same load, before and after ``kol_lake_maintenance``'s
actions (compaction, manifest rewrite, expiry with the default ``retain_last``, orphan removal). Goal: after maintenance, commit latency
at 5,000 commits <= 1.2 x at 100, and metadata bounded (independent of N).

The history is built through Iceberg's Java API (see :func:`build`); every measured commit is a pyiceberg
append, as ingest makes it.
"""

from __future__ import annotations

import os
import time

from bench.common import median, spark_lake
from bench.etl import append_bronze, bronze_rows
from lakehouse.core.names import TOPICS
from lakehouse.core.offsets import BronzeState
from lakehouse.iceberg.catalog import ensure_table, get_catalog
from lakehouse.iceberg.retention import protected_snapshots
from lakehouse.ingest.bronze_table import ARROW_SCHEMA
from lakehouse.jobs.maintenance import Policy, maintain_table
from lakehouse.spark.tables import qualified

TARGET_RATIO = 1.2
TOPIC = TOPICS["profiles"]
ROWS_PER_COMMIT = 10
ROUNDS_BEFORE = 5  # a commit on 5,000 snapshots takes ~10 s
# After maintenance: more rounds for a stable median, and more commits than the metadata log keeps
# (write.metadata.previous-versions-max = 20), so the metadata.json versions written before maintenance
# (each holding the whole history) have been deleted when the size is taken: what ingest leaves ~6 h later.
ROUNDS_AFTER = 25


def _commit(table, i: int) -> None:
    append_bronze(table, TOPIC, [f"k{i}-{j}".encode() for j in range(ROWS_PER_COMMIT)],
                  [b'{"kol_id": "k", "platform": "tiktok"}'] * ROWS_PER_COMMIT)


def build(spark, catalog, name: str, n: int) -> float:
    """``n`` small commits: ``n`` snapshots, each adding its own data file, as ingest makes them.

    The files are written by pyiceberg (as ingest writes them); the commits are made through Iceberg's Java
    API in the Spark driver, because pyiceberg copies the whole table metadata several times per commit, so
    building 5,000 snapshots with it costs hours (quadratic) -- that growth is what the benchmark measures
    on its ``before`` commit, not something the history has to be built with."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    table = ensure_table(catalog, name, ARROW_SCHEMA)
    jvm = spark._jvm
    jtable = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, qualified(name))
    started = time.perf_counter()
    for i in range(n):
        for data_file in _dataframe_to_data_files(table.metadata, _batch(i), table.io):
            append = jtable.newAppend().appendFile(
                jvm.org.apache.iceberg.DataFiles.builder(jtable.spec()).withPath(data_file.file_path)
                .withFormat("PARQUET").withFileSizeInBytes(data_file.file_size_in_bytes)
                .withRecordCount(data_file.record_count).build())
            for key, value in _summary(i).items():
                append = append.set(key, value)
            append.commit()
    return round(time.perf_counter() - started, 1)


def _batch(i: int):
    return bronze_rows(TOPIC, i * ROWS_PER_COMMIT, [f"k{i}-{j}".encode() for j in range(ROWS_PER_COMMIT)],
                       [b'{"kol_id": "k", "platform": "tiktok"}'] * ROWS_PER_COMMIT)


def _summary(i: int) -> dict[str, str]:
    start = i * ROWS_PER_COMMIT
    return BronzeState(first={0: 0}, next={0: start + ROWS_PER_COMMIT}).to_summary()


def measure(catalogue, names: list[str], rounds: int) -> dict[str, dict]:
    """Per table: median load_table time and one-commit latency over ``rounds`` rounds, taken round-robin so
    every table sees the same machine load; then the metadata dir's size (what those commits left too)."""
    loads, commits = {n: [] for n in names}, {n: [] for n in names}
    for r in range(rounds):
        for name in names:
            started = time.perf_counter()
            table = catalogue.load_table(name)
            loads[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            _commit(table, 10_000_000 + r)
            commits[name].append(time.perf_counter() - started)
    out = {}
    for name in names:
        meta = os.path.join(catalogue.load_table(name).location().removeprefix("file:"), "metadata")
        out[name] = {"load_table_s": median(loads[name]), "commit_s": median(commits[name]),
                     "metadata_bytes": sum(os.path.getsize(os.path.join(meta, f)) for f in os.listdir(meta)),
                     "metadata_files": len(os.listdir(meta)),
                     "snapshots": len(catalogue.load_table(name).snapshots())}
    return out


def run(sizes=(100, 1_000, 5_000)) -> dict:
    with spark_lake("maintenance") as (settings, spark):
        catalog = get_catalog(settings)
        names = [f"bronze.bench_{n}_commits" for n in sizes]
        build_s = {name: build(spark, catalog, name, n) for name, n in zip(names, sizes, strict=True)}
        before = measure(catalog, names, ROUNDS_BEFORE)
        policy = Policy.from_params(settings, {"snapshot_retention_hours": 0.0001})
        maintain_s = {}
        for name in names:
            started = time.perf_counter()
            maintain_table(spark, catalog, name, protected_snapshots(catalog, [name]).get(name, set()), policy)
            maintain_s[name] = round(time.perf_counter() - started, 1)
        after = measure(catalog, names, ROUNDS_AFTER)
    small, large = names[0], names[-1]
    ratio = round(after[large]["commit_s"] / after[small]["commit_s"], 3)
    return {
        "sizes": [{"commits": n, "build_s": build_s[name], "before": before[name], "maintenance_s": maintain_s[name],
                   "after": after[name]} for name, n in zip(names, sizes, strict=True)],
        "ratio_commit_after_maintenance_largest_over_smallest": ratio,
        "ratio_commit_before_maintenance_largest_over_smallest":
            round(before[large]["commit_s"] / before[small]["commit_s"], 3),
        "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO, "retain_last": policy.retain_last,
        "metadata_bound": "after maintenance: the retained snapshots' manifest lists, <= 100 data manifests "
                          "(merged on commit), 20 metadata.json versions of <= retain_last + 25 snapshots; "
                          "independent of N",
    }
