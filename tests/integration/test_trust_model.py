"""Trust-model training, gates, registry and Gold scoring on real Spark MLlib and Iceberg."""

import random

import pytest
from pyspark.ml import PipelineModel

from lakehouse.core.errors import TrainingGateError
from lakehouse.jobs.training import train_trust_model as train
from lakehouse.jobs.transform import build_gold
from lakehouse.ml import registry
from lakehouse.ml.labels import write_labels
from lakehouse.ml.train import BEHAVIOURAL_CASES, score_profiles
from lakehouse.quality.serving import listing_checks
from lakehouse.quality.store import run_results

pytestmark = pytest.mark.integration


@pytest.fixture
def labeled(lake, labeled_silver):
    """Silver built from 3,000 synthetic KOLs, with their ground-truth labels."""
    return lake, labeled_silver(3000, seed=81)


def test_training_passes_the_gates_and_becomes_champion(labeled, spark_session):
    settings, _ = labeled
    out = train(spark_session, dag_id="kol_model_training", run_id="w1", params={"seed": 7})
    assert out["promoted"] and out["version"] == 1 and out["previous_champion"] is None
    assert out["metrics"]["auc"] >= 0.85 and 0 < out["metrics"]["precision"] <= 1
    champion = registry.champion(settings)
    assert (champion["version"], champion["status"]) == (1, "champion")
    assert '"silver.kol_profiles"' in champion["training_snapshots"]
    model = PipelineModel.load(champion["artifact_path"])  # the registered artifact is complete
    scores = score_profiles(spark_session, model)
    for name, (_, (lo, hi)) in BEHAVIOURAL_CASES.items():
        assert lo <= scores[name] <= hi, (name, scores[name])
    checks = {c.check_id: c.status for c in run_results(settings, "kol_model_training", "w1")}
    assert checks["ml.trust.auc"] == "PASS" and checks["ml.trust.vs_champion"] == "SKIP"

    # same run retried: its entry is replaced, not duplicated
    train(spark_session, dag_id="kol_model_training", run_id="w1", params={"seed": 7})
    assert [e["version"] for e in registry.entries(settings)] == [1]


def test_shuffled_labels_fail_the_auc_gate_and_the_champion_stays(labeled, spark_session):
    settings, dataset = labeled
    train(spark_session, dag_id="kol_model_training", run_id="good", params={"seed": 7})
    rng = random.Random(3)
    shuffled = [lab["label"] for lab in dataset.labels]
    rng.shuffle(shuffled)
    write_labels(settings, [{**lab, "label": s} for lab, s in zip(dataset.labels, shuffled, strict=True)])
    with pytest.raises(TrainingGateError, match=r"champion stays v1\): auc 0\.[0-7]\d* < 0.85"):
        train(spark_session, dag_id="kol_model_training", run_id="bad", params={"seed": 7})
    entries = {e["version"]: e for e in registry.entries(settings)}
    assert registry.champion(settings)["version"] == 1
    assert (entries[2]["status"], entries[2]["is_champion"]) == ("rejected", False)
    failed = {c.check_id for c in run_results(settings, "kol_model_training", "bad") if c.status == "FAIL"}
    assert "ml.trust.auc" in failed


def test_gold_scores_with_the_champion_and_the_final_formula_holds(labeled, spark_session):
    settings, _ = labeled
    before = build_gold(spark_session, run_id="g0")
    assert before["mode"] == "full"
    rows = spark_session.table("lake.gold.kol_summary").collect()
    assert all(r.trust_score is None and r.trust_model_version is None for r in rows)

    train(spark_session, dag_id="kol_model_training", run_id="w1", params={"seed": 7})
    after = build_gold(spark_session, run_id="g1")  # nothing new in Silver, but a new champion: rescore all
    assert after["mode"] == "full" and after["updated"] == len(rows)
    gold_rows = [r.asDict() for r in spark_session.table("lake.gold.kol_summary").collect()]
    assert {r["trust_model_version"] for r in gold_rows} == {1}
    assert all(20.0 <= r["trust_score"] <= 100.0 for r in gold_rows)
    for platform in ("tiktok", "youtube"):
        listing = [r for r in gold_rows if r["platform"] == platform]
        top = sorted((r["trending_score"] for r in listing if r["trending_reason"] is None), reverse=True)[:50]
        statuses = {c.check_id.split(".")[1]: c.status for c in listing_checks(platform, listing, "gold", top)}
        assert statuses == dict.fromkeys(statuses, "PASS"), statuses
    assert build_gold(spark_session, run_id="g2")["mode"] == "up_to_date"
