"""The job of ``kol_model_training`` (and ``kol_platform_e2e``): train, gate, save, register, promote (or not).

Order matters for atomicity: the artifact is written first (to its own
``models/trust/v<N>`` directory), then one registry commit records it and,
if every gate passed, flips the champion. A crash in between leaves an
unregistered directory that the retry overwrites; the champion never points
at a model that is not fully written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.entities import SILVER_TABLES
from lakehouse.core.errors import TrainingGateError
from lakehouse.core.names import LABELS_TABLE
from lakehouse.ml import registry
from lakehouse.ml.train import BEHAVIOURAL_CASES, Gates, train_and_evaluate, training_frame
from lakehouse.quality.store import record
from lakehouse.spark.tables import run_snapshot_id, snapshot_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.ml.train import TrainingResult

SOURCE = "train_trust_model"


def gate_checks(result: TrainingResult, version: int) -> list[CheckResult]:
    """The training gates as check results (recorded in ``audit.check_results``)."""
    table = f"ml.model_registry:v{version}"
    gates = result.params
    out = [CheckResult("ml.trust.auc", "ml", table, Status.PASS if result.metrics["auc"] >= gates["min_auc"]
                       else Status.FAIL, result.metrics["auc"], f">= {gates['min_auc']}",
                       f"holdout of {result.metrics['holdout_rows']} KOLs; precision "
                       f"{result.metrics['precision']}, recall {result.metrics['recall']} at "
                       f"{result.metrics['threshold']}; Brier {result.metrics['brier']}")]
    for name, (_, (lo, hi)) in BEHAVIOURAL_CASES.items():
        score = result.behavioural[name]
        out.append(CheckResult(f"ml.trust.behavioural.{name}", "ml", table,
                               Status.PASS if lo <= score <= hi else Status.FAIL, score, f"in [{lo}, {hi}]"))
    if result.champion_auc is None:
        out.append(CheckResult("ml.trust.vs_champion", "ml", table, Status.SKIP, None,
                               f">= champion - {gates['champion_margin']}", "no champion yet"))
    else:
        floor = round(result.champion_auc - gates["champion_margin"], 4)
        out.append(CheckResult("ml.trust.vs_champion", "ml", table,
                               Status.PASS if result.metrics["auc"] >= floor else Status.FAIL, result.metrics["auc"],
                               f">= {floor}", f"champion AUC {result.champion_auc} on the same holdout"))
    return out


def train_trust_model(spark: SparkSession, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                      params: dict[str, Any] | None = None, **_: object) -> dict[str, Any]:
    """Train on Silver as this run sees it; register the model; promote it only if every gate passed."""
    from pyspark.ml import PipelineModel

    settings = get_settings()
    params = params or {}
    gates = Gates(min_auc=float(params.get("min_auc", Gates.min_auc)),
                  champion_margin=float(params.get("champion_margin", Gates.champion_margin)))
    snapshots = {t: run_snapshot_id(t, branch) for t in SILVER_TABLES}
    snapshots[LABELS_TABLE] = snapshot_id(spark, LABELS_TABLE)
    current = registry.champion(settings)
    champion_model = PipelineModel.load(current["artifact_path"]) if current else None
    data = training_frame(spark, branch).cache()
    try:
        if data.count() == 0:
            raise TrainingGateError("no labeled KOLs in Silver: nothing to train on (is ml.kol_labels filled?)")
        model, result = train_and_evaluate(spark, data, seed=int(params.get("seed", 42)), gates=gates,
                                           champion=champion_model, reg_param=float(params.get("reg_param", 0.01)))
    finally:
        data.unpersist()
    version = registry.reserve_version(settings, run_id, dag_id)
    artifact = registry.artifact_path(settings, version)
    model.write().save(artifact)  # a fresh path: a saved model is never overwritten
    entry = registry.register(settings, version=version, promote=result.passed, dag_id=dag_id, run_id=run_id,
                              metrics=result.metrics, params=result.params, training_snapshots=snapshots,
                              failed_gates=result.failed_gates, artifact=artifact)
    if run_id:
        record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=gate_checks(result, version))
    if not result.passed:
        stays = f"v{current['version']}" if current else "none"
        raise TrainingGateError(f"trust model v{version} not promoted (champion stays {stays}): "
                                + "; ".join(result.failed_gates))
    return {"version": version, "promoted": True, "artifact_path": entry["artifact_path"],
            "metrics": {k: v for k, v in result.metrics.items() if k != "calibration"},
            "behavioural": result.behavioural, "champion_auc": result.champion_auc,
            "previous_champion": current["version"] if current else None}
