"""kol_platform_e2e through real Airflow (`dag.test()`), broker, Spark (spark-submit), Iceberg and Redis."""

import json

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def e2e_dag(load_dag):
    return load_dag("kol_platform_e2e")


def test_run_fails_and_reports_when_bronze_misses_messages(settings, services, catalog, e2e_dag, monkeypatch):
    """A lossy ingest (capped per topic) must fail the count gate, and the report must say so."""
    from lakehouse.orchestration.tasks import ingest

    real_ingest = ingest.ingest_and_reconcile

    def lossy_ingest(topic, **kwargs):
        return real_ingest(topic, params={"max_records": 100}, **kwargs)

    monkeypatch.setattr(ingest, "ingest_and_reconcile", lossy_ingest)
    run = e2e_dag.test(run_conf={"profiles": 400, "bad_fraction": 0.0, "seed": 6})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    # stopped right after ingest: no Spark job ran on a lossy ingest, nothing was published
    assert states["check_bronze"] == "failed"
    assert states["bronze_to_silver"] == states["count_layers"] == states["publish_redis"] == "upstream_failed"
    assert states["release_wap_lease"] == "success"
    assert states["readiness_report"] == "success"  # the report is written whatever broke
    assert states["quality_gate"] == "failed"
    report = json.loads((settings.reports_dir / "kol_platform_e2e" / "latest.json").read_text())
    failed = {c["check_id"] for c in report["checks"] if c["status"] == "FAIL"}
    assert "bronze_vs_produced.profiles" in failed and not report["gate"]["passed"]
