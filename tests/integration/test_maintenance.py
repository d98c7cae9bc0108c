"""A soak of small 15-minute-style commits, then Iceberg maintenance: bookkeeping, lineage and every check survive."""

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from lakehouse.core.checks import Status
from lakehouse.core.entities import entities
from lakehouse.core.names import CHECK_RESULTS_TABLE, LINEAGE_EVENTS_FILE, TOPICS, bronze_table_name
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import ensure_table, get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.maintenance import maintain_lake
from lakehouse.jobs.transform import build_gold, build_silver
from lakehouse.quality import store
from lakehouse.quality.lake_checks import run_lake_checks, silver_lake_checks
from lakehouse.quality.reconcile import reconcile
from lakehouse.quality.table_checks import table_checks
from lakehouse.spark.tables import ensure_branch

pytestmark = pytest.mark.integration
LAYERS = ("bronze", "silver", "gold")
quiet = {"log": lambda *_: None}


def _cycle(lake, spark, n: int, produced: Counter, batch_size: int, transform: bool = True) -> int:
    """One simulated 15-minute cycle: new and updated KOLs produced, ingested in small commits, transformed."""
    dataset = generate(DatasetSpec(profiles=30, videos_per_profile=1, comments_per_video=1, bad_fraction=0.0,
                                   seed=500 + n))
    produced.update(produce_records(dataset.all_records(), lake))
    commits = sum(ingest_topic(t, lake, batch_size=batch_size, run_id=f"ingest-{n}", **quiet).batches
                  for t in TOPICS.values())
    if transform:  # a transform run may see one or several ingest cycles
        build_silver(spark, dag_id="soak", run_id=f"transform-{n}")
        build_gold(spark, dag_id="soak", run_id=f"transform-{n}")
    return commits


def _failures(results):
    return [f"{r.check_id}: {r.observed} vs {r.threshold} {r.details}" for r in results
            if r.status == Status.FAIL]


def _all_checks(lake, spark, run_id: str):
    results, _ = run_lake_checks(spark, dag_id="soak", run_id=run_id, source="lake_checks", layers=LAYERS)
    return results + table_checks(dag_id="soak", run_id=run_id, params={"layers": list(LAYERS)}, settings=lake)


def test_soak_then_maintenance_keeps_bookkeeping_lineage_and_every_check(lake, lake_services, spark_session):
    spark, catalog, produced = spark_session, get_catalog(lake), Counter()
    commits = sum(_cycle(lake, spark, n, produced, batch_size=1, transform=n == 2) for n in range(3))
    assert commits >= 200

    ensure_branch(spark, "silver.kol_profiles", "audit_failed_long_ago")  # a failed audit's branch, left behind
    old_row = {f.name: None for f in store.SCHEMA} | {
        "dag_id": "soak", "run_id": "ancient", "source": "x", "check_id": "volume.x", "status": "PASS",
        "recorded_at": datetime.now(UTC) - timedelta(days=200)}
    ensure_table(catalog, CHECK_RESULTS_TABLE, store.SCHEMA).append(pa.Table.from_pylist([old_row], schema=store.SCHEMA))
    bronze = catalog.load_table(bronze_table_name(TOPICS["profiles"]))
    orphan = os.path.join(bronze.location().removeprefix("file:"), "data", "orphan-from-a-crashed-writer.parquet")
    with open(orphan, "wb") as f:
        f.write(b"not referenced by any snapshot")
    week_ago = time.time() - 7 * 86400
    os.utime(orphan, (week_ago, week_ago))
    snapshots_before = len(bronze.snapshots())
    lake.lineage_dir.mkdir(parents=True, exist_ok=True)  # OpenLineage events: a rotated file past retention
    stale_events = lake.lineage_dir / "openlineage-20250101T000000.jsonl"
    stale_events.write_text('{"eventType": "COMPLETE"}\n')
    os.utime(stale_events, (time.time() - 40 * 86400,) * 2)
    (lake.lineage_dir / LINEAGE_EVENTS_FILE).write_text('{"eventType": "START"}\n')  # ... and today's
    retention_ms = 0.0001 * 3_600_000
    newest_ms = max(s.timestamp_ms for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)
                    for s in catalog.load_table(t).snapshots())
    deadline = time.monotonic() + 30
    while time.time() * 1000 - newest_ms <= retention_ms:  # every snapshot older than the retention below
        assert time.monotonic() < deadline, "the clock did not move"
        time.sleep(0.05)

    out = maintain_lake(spark, dag_id="kol_lake_maintenance", run_id="m1",
                        params={"snapshot_retention_hours": 0.0001, "retain_last": 1, "branch_retention_hours": 0.0001})
    checks = {c["check_id"]: c for c in out["checks"]}
    assert all(c["status"] == "PASS" for c in checks.values()), [c for c in checks.values() if c["status"] != "PASS"]
    bronze = bronze.refresh()
    assert len(bronze.snapshots()) <= 3 < snapshots_before
    assert checks["maintenance.rewrite_data_files.bronze.kol_profiles_raw"]["observed"]["rewritten_data_files_count"] > 1
    assert checks["maintenance.remove_orphan_files.bronze.kol_profiles_raw"]["observed"]["orphan_files_removed"] >= 1
    assert not os.path.exists(orphan)
    assert "audit_failed_long_ago" not in catalog.load_table("silver.kol_profiles").refs()
    assert checks["maintenance.prune.check_history"]["observed"]["rows_removed"] == 1
    assert checks["maintenance.prune.lineage_events"]["observed"] == {"files_rotated": 1, "files_removed": 1}
    [kept] = lake.lineage_dir.iterdir()  # today's events, rotated: the next event starts a new file
    assert kept.name.startswith("openlineage-") and kept.read_text() == '{"eventType": "START"}\n'
    assert {r["check_id"] for r in store.history(lake, "kol_lake_maintenance", run_id="m1")} == set(checks)

    for topic in TOPICS.values():  # the bookkeeping needs nothing maintenance removed
        table = catalog.load_table(bronze_table_name(topic))
        assert sum(p["rows"] for p in reconcile(table, topic).values()) == produced[topic] == table.scan().count()
    assert not _failures(_all_checks(lake, spark, "after-maintenance"))

    _cycle(lake, spark, 9, produced, batch_size=50)  # and the next increment is processed exactly
    for entity in entities().values():
        results, _ = silver_lake_checks(spark, entity, None)
        assert not _failures(results)
        assert {r.check_id: r.status for r in results}[f"accounting.{entity.name}"] == Status.PASS
