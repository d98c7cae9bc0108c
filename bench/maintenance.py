"""A year of 15-minute commits, compressed: what N small Bronze commits cost before and after maintenance.

For N = 100, 1,000 and 5,000 commits (10 records each) on one Bronze table:
``load_table`` time, one more ingest commit's latency, and metadata size on disk
(``metadata/``: metadata.json versions, manifest lists, manifests), measured round-robin
over the tables so each sees the same load, before and after ``kol_lake_maintenance``'s
actions (compaction, manifest rewrite, expiry with the default ``retain_last``, orphan removal). Goal: after maintenance, commit latency
at 5,000 commits <= 1.2 x at 100, and metadata bounded (independent of N).
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

TARGET_RATIO = 1.2
TOPIC = TOPICS["profiles"]
ROWS_PER_COMMIT = 10
ROUNDS = 5


def _commit(table, i: int) -> None:
    append_bronze(table, TOPIC, [f"k{i}-{j}".encode() for j in range(ROWS_PER_COMMIT)],
                  [b'{"kol_id": "k", "platform": "tiktok"}'] * ROWS_PER_COMMIT)


def build(catalog, name: str, n: int, per_transaction: int = 100) -> float:
    """``n`` small commits: ``n`` snapshots, each its own data file, manifest and manifest list, as ingest
    makes them. Built ``per_transaction`` appends to one catalog commit (pyiceberg turns each append of a
    transaction into its own snapshot), which only saves the metadata.json versions in between."""
    table = ensure_table(catalog, name, ARROW_SCHEMA)
    started = time.perf_counter()
    for first in range(0, n, per_transaction):
        with table.transaction() as tx:
            for i in range(first, min(first + per_transaction, n)):
                tx.append(_batch(i), snapshot_properties=_summary(i))
        table = table.refresh()
    return round(time.perf_counter() - started, 1)


def _batch(i: int):
    return bronze_rows(TOPIC, i * ROWS_PER_COMMIT, [f"k{i}-{j}".encode() for j in range(ROWS_PER_COMMIT)],
                       [b'{"kol_id": "k", "platform": "tiktok"}'] * ROWS_PER_COMMIT)


def _summary(i: int) -> dict[str, str]:
    start = i * ROWS_PER_COMMIT
    return BronzeState(first={0: 0}, next={0: start + ROWS_PER_COMMIT}).to_summary()


def measure(catalogue, names: list[str]) -> dict[str, dict]:
    """Per table: median load_table time and one-commit latency over ROUNDS rounds, taken round-robin so
    every table sees the same machine load; and the metadata dir's size."""
    loads, commits = {n: [] for n in names}, {n: [] for n in names}
    for r in range(ROUNDS):
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
        build_s = {name: build(catalog, name, n) for name, n in zip(names, sizes, strict=True)}
        before = measure(catalog, names)
        policy = Policy.from_params(settings, {"snapshot_retention_hours": 0.0001})
        maintain_s = {}
        for name in names:
            started = time.perf_counter()
            maintain_table(spark, catalog, name, protected_snapshots(catalog, [name]).get(name, set()), policy)
            maintain_s[name] = round(time.perf_counter() - started, 1)
        after = measure(catalog, names)
    small, large = names[0], names[-1]
    ratio = round(after[large]["commit_s"] / after[small]["commit_s"], 3)
    return {
        "sizes": [{"commits": n, "build_s": build_s[name], "before": before[name], "maintenance_s": maintain_s[name],
                   "after": after[name]} for name, n in zip(names, sizes, strict=True)],
        "ratio_commit_after_maintenance_largest_over_smallest": ratio,
        "ratio_commit_before_maintenance_largest_over_smallest":
            round(before[large]["commit_s"] / before[small]["commit_s"], 3),
        "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO, "retain_last": policy.retain_last,
    }
