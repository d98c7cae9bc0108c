"""kol_model_training through real Airflow (`dag.test()`, spark-submit): promote, or fail and keep the champion."""

import pytest

from lakehouse.ml import registry
from lakehouse.quality.store import run_results

pytestmark = pytest.mark.e2e


def test_training_dag_promotes_then_a_stricter_gate_fails_and_keeps_the_champion(lake, labeled_silver, load_dag):
    labeled_silver(2000, seed=91)
    dag = load_dag("kol_model_training")

    run = dag.test(run_conf={"seed": 3})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    champion = registry.champion(lake)
    assert (champion["version"], champion["run_id"]) == (1, run.run_id)
    assert '"seed": 3' in champion["params"]
    assert {c.check_id for c in run_results(lake, "kol_model_training", run.run_id)} >= {
        "ml.trust.auc", "ml.trust.behavioural.high_quality", "ml.trust.vs_champion"}

    strict = dag.test(run_conf={"seed": 3, "min_auc": 0.999})
    states = {ti.task_id: ti.state for ti in strict.get_task_instances()}
    assert strict.state == "failed"
    assert states == {"train_trust_model": "failed", "quality_gate": "failed"}
    assert registry.champion(lake)["version"] == 1
    rejected = [e for e in registry.entries(lake) if e["run_id"] == strict.run_id]
    assert [(e["version"], e["status"]) for e in rejected] == [(2, "rejected")]
