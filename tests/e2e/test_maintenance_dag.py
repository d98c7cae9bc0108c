"""kol_lake_maintenance through real Airflow (`dag.test()`, spark-submit of `spark_jobs/maintain_lake.py`): every
action of every selected table recorded as a check row; an action Iceberg refuses is a FAIL row while the
actions and the pruning after it still run, and the run fails naming it."""

import pytest

from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.quality.store import run_results

pytestmark = pytest.mark.e2e

TABLE = "bronze.kol_profiles_raw"
ACTIONS = ("rewrite_data_files", "rewrite_manifests", "expire_snapshots", "remove_orphan_files")


def test_maintenance_records_every_action_and_a_refused_one_fails_its_row_while_the_rest_run(
        lake, lake_services, load_dag):
    records = generate(DatasetSpec(profiles=200, seed=61, videos_per_profile=0)).records["profiles"]
    for half in (records[:100], records[100:]):  # two ingest commits: two data files to compact
        produce_records(half, lake)
        ingest_topic(TOPICS["profiles"], lake, max_records=len(half))
    dag = load_dag("kol_lake_maintenance")
    dag.get_task("maintain_lake").retries = 0

    run = dag.test(run_conf={"tables": [TABLE]})
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    checks = {c.check_id: c for c in run_results(lake, "kol_lake_maintenance", run.run_id)}
    assert {f"maintenance.{a}.{TABLE}" for a in ACTIONS} <= set(checks), sorted(checks)
    assert all(c.status.value == "PASS" for c in checks.values()), [c.line() for c in checks.values()]
    assert checks[f"maintenance.rewrite_data_files.{TABLE}"].observed["rewritten_data_files_count"] >= 2

    # Iceberg's procedure refuses to remove orphans younger than a day (a concurrent writer's files)
    refused = dag.test(run_conf={"tables": [TABLE], "orphan_min_age_hours": 1})
    assert refused.state == "failed"
    checks = {c.check_id: c for c in run_results(lake, "kol_lake_maintenance", refused.run_id)}
    failed = [c.check_id for c in checks.values() if c.status.value == "FAIL"]
    assert failed == [f"maintenance.remove_orphan_files.{TABLE}"], [c.line() for c in checks.values()]
    assert checks[f"maintenance.expire_snapshots.{TABLE}"].status.value == "PASS"
    assert "maintenance.prune.check_history" in checks  # the pruning after the refused action still ran
