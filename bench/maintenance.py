"""A year of 15-minute commits, compressed: what N small Bronze commits cost before and after maintenance.

For N = 100, 1,000 and 5,000 commits (10 records each) on one Bronze table:
``load_table`` time, one more ingest commit's latency, and metadata size on disk
(``metadata/``: metadata.json versions, manifest lists, manifests), before and after
``kol_lake_maintenance``'s actions (compaction, manifest rewrite, expiry with the
default ``retain_last``, orphan removal). Goal: after maintenance, commit latency
at 5,000 commits <= 1.2 x at 100, and metadata bounded (independent of N).
"""

from __future__ import annotations

import os
import time

from bench.common import median, spark_lake
from bench.etl import append_bronze
from lakehouse.core.names import TOPICS, bronze_table_name
from lakehouse.iceberg.catalog import get_catalog, reset_lake
from lakehouse.iceberg.retention import protected_snapshots
from lakehouse.ingest.bronze_table import ensure_bronze_table
from lakehouse.jobs.maintenance import Policy, maintain_table

TARGET_RATIO = 1.2
TOPIC = TOPICS["profiles"]
ROWS_PER_COMMIT = 10


def _commit(table, i: int) -> None:
    append_bronze(table, TOPIC, [f"k{i}-{j}".encode() for j in range(ROWS_PER_COMMIT)],
                  [b'{"kol_id": "k", "platform": "tiktok"}'] * ROWS_PER_COMMIT)


def measure(catalog, name: str) -> dict:
    """Median load_table time and one-commit latency (5 each), and the metadata dir's size."""
    loads, commits = [], []
    for i in range(5):
        started = time.perf_counter()
        table = catalog.load_table(name)
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        _commit(table, 10_000_000 + i)
        commits.append(time.perf_counter() - started)
    meta = os.path.join(catalog.load_table(name).location().removeprefix("file:"), "metadata")
    size = sum(os.path.getsize(os.path.join(meta, f)) for f in os.listdir(meta))
    return {"load_table_s": median(loads), "commit_s": median(commits), "metadata_bytes": size,
            "metadata_files": len(os.listdir(meta)), "snapshots": len(catalog.load_table(name).snapshots())}


def one_size(settings, spark, n: int) -> dict:
    catalog = get_catalog(settings)
    table = ensure_bronze_table(catalog, TOPIC)
    name = bronze_table_name(TOPIC)
    started = time.perf_counter()
    for i in range(n):
        table = table.refresh() if i % 500 == 0 else table
        _commit(table, i)
    build_s = time.perf_counter() - started
    before = measure(catalog, name)
    policy = Policy.from_params(settings, {"snapshot_retention_hours": 0.0001})
    started = time.perf_counter()
    maintain_table(spark, catalog, name, protected_snapshots(catalog, [name]).get(name, set()), policy)
    maintain_s = time.perf_counter() - started
    return {"commits": n, "build_s": round(build_s, 1), "before": before, "maintenance_s": round(maintain_s, 1),
            "after": measure(catalog, name)}


def run(sizes=(100, 1_000, 5_000)) -> dict:
    with spark_lake("maintenance") as (settings, spark):
        out = []
        for n in sizes:
            reset_lake(settings)
            out.append(one_size(settings, spark, n))
    small, large = out[0]["after"]["commit_s"], out[-1]["after"]["commit_s"]
    ratio = round(large / small, 3)
    return {"sizes": out, "ratio_commit_after_maintenance_largest_over_smallest": ratio,
            "ratio_commit_before_maintenance_largest_over_smallest":
                round(out[-1]["before"]["commit_s"] / out[0]["before"]["commit_s"], 3),
            "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO,
            "metadata_bytes_after": [s["after"]["metadata_bytes"] for s in out]}
