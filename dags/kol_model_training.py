"""
### Trust-model training, gates and promotion

Weekly (Sunday 03:00, no catchup) and from the UI with Params:

1. **train_trust_model** (Spark MLlib) – features from the published Silver profiles, videos and
   comments joined with `ml.kol_labels`; a reproducible hash split (`seed`); logistic regression;
   holdout AUC, precision/recall at 0.5, calibration (Brier, 10 bins). Gates: AUC ≥ `min_auc`,
   the test plan's behavioural cases (high-quality profile 85–100, low-quality 20–50), and not
   worse than the current champion by more than `champion_margin` (AUC on the same holdout).
   The model is saved to `<warehouse>/models/trust/v<N>` and registered in `ml.model_registry`;
   only if every gate passed does one registry commit make it champion. A failed gate fails the
   task (no retries) and leaves the champion as it was.
2. **quality_gate** – the run's checks (`ml.trust.*`) through the same gate as every DAG.

A promotion updates the `ml.model_registry` asset, which schedules `kol_transform`: Gold
rescores every KOL with the new champion.
"""

from __future__ import annotations

from airflow.sdk import dag

from lakehouse.orchestration.assets import TRUST_CHAMPION_ASSET
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator
from lakehouse.orchestration.params import dag_params, job_arguments
from lakehouse.orchestration.taskflow import quality_gate_task


@dag(dag_id="kol_model_training", tags=tags("ml", "trust"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule="0 3 * * 0",
     params=dag_params("train_trust_model", seed=42, min_auc=0.85, champion_margin=0.02, reg_param=0.01),
)
def kol_model_training():
    train = LakehouseSparkSubmitOperator(
        task_id="train_trust_model", job="train_trust_model", outlets=[TRUST_CHAMPION_ASSET],
        application_args=job_arguments("train_trust_model", branch="main"),
    )
    train >> quality_gate_task(("train_trust_model",))


kol_model_training()
