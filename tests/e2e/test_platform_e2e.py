"""kol_platform_e2e through real Airflow (`dag.test()`), broker, Spark (spark-submit), Iceberg and Redis."""

import json

import pytest
import redis

from lakehouse.core.names import PLATFORMS
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ml import registry
from lakehouse.quality.store import history
from lakehouse.quality.suites import lint
from lakehouse.serving.redis_publish import current_version, list_key, profile_key, trending_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def e2e_dag(load_dag):
    return load_dag("kol_platform_e2e")


def test_skeleton_run_succeeds_and_redis_holds_one_entry_per_gold_row(settings, services, catalog, e2e_dag,
                                                                       chromium_dom):
    run = e2e_dag.test(run_conf={"profiles": 1500, "bad_fraction": 0.02, "seed": 5})
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]

    gold = get_catalog(settings).load_table("gold.kol_summary").scan().to_arrow().to_pylist()
    assert len(gold) > 1400
    client = redis.Redis.from_url(settings.redis_url)
    version = current_version(client)
    champion = registry.champion(settings)
    assert champion and champion["auc"] >= 0.85  # trained on this run's Silver, promoted, used by Gold
    for platform in PLATFORMS:
        rows = [r for r in gold if r["platform"] == platform]
        listing = json.loads(client.get(list_key(platform, version)))
        assert listing == json.loads(client.get(list_key(platform)))  # the test plan's unversioned name
        assert len(listing) == len(rows) == client.zcard(trending_key(platform, version))
        assert {e["kol_id"] for e in listing} == {r["kol_id"] for r in rows}
        sample = rows[0]
        assert sample["trust_model_version"] == champion["version"] and 20 <= sample["trust_score"] <= 100
        stored = client.hgetall(profile_key(platform, sample["kol_id"], version))
        assert int(stored[b"followers_count"]) == sample["followers_count"]

    report = json.loads((settings.reports_dir / "kol_platform_e2e" / "latest.json").read_text())
    assert report["gate"]["passed"] and report["score"] == 100.0
    recorded = [r for r in history(settings, "kol_platform_e2e") if r["run_id"] == run.run_id]
    assert {r["source"] for r in recorded} == {"readiness_report", "audit_branch", "train_trust_model",
                                              "publish_redis"}  # publish_redis records the hot-path checks
    assert len(recorded) == len(report["checks"])  # the report is every check the run recorded
    assert {c["check_id"] for c in report["checks"]} >= {
        "lineage.gold_row_traces_to_bronze", "accounting.profiles", "redis_vs_gold.tiktok.list",
        "redis.final_score_formula.youtube", "ml.trust.auc", "ml.trust.behavioural.low_quality"}
    assert report["data_docs"]["gold.kol_summary"].endswith(".html")
    dom = chromium_dom(settings.reports_dir / "kol_platform_e2e" / "latest.html")
    assert dom.count('class="check ') == len(report["checks"]) and 'class="check fail"' not in dom
    assert 'id="layer-gold"' in dom and "Data Docs</a>" in dom
    # every shipped suite matches the schemas a real run produced (no column drift)
    assert lint(catalog=get_catalog(settings)) == []
    assert report["counts"]["bronze"]["profiles"] == report["produced"]["kol-profiles-raw"]


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
    # stopped by the WAP audit or by count_layers, whichever sees it first: never published
    assert states["count_layers"] in ("failed", "upstream_failed")
    assert states["publish_redis"] == "upstream_failed"
    assert states["readiness_report"] == "success"  # the report is written whatever broke
    assert states["quality_gate"] == "failed"
    report = json.loads((settings.reports_dir / "kol_platform_e2e" / "latest.json").read_text())
    failed = {c["check_id"] for c in report["checks"] if c["status"] == "FAIL"}
    assert "bronze_vs_produced.profiles" in failed and not report["gate"]["passed"]
