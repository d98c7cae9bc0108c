"""The Write-Audit-Publish jobs of ``kol_transform`` (and ``kol_platform_e2e``): build, build, audit, publish.

The first three are Spark jobs (``spark_jobs/<name>.py``); publishing moves refs only, so it runs
without Spark, in the task's own process."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from lakehouse.core.checks import Status
from lakehouse.core.entities import entities
from lakehouse.core.errors import AuditError
from lakehouse.etl import gold, silver, wap
from lakehouse.ml.registry import current_champion
from lakehouse.ml.scoring import model_scorer
from lakehouse.quality.lake_checks import run_lake_checks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

AUDIT_SOURCE = "audit_branch"


def build_silver(spark: SparkSession, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                 full_rebuild: bool = False, **_: object) -> dict[str, Any]:
    """Bronze -> Silver for every entity, on the run's branch."""
    stats = [silver.bronze_to_silver(spark, name, dag_id=dag_id, run_id=run_id, branch=branch,
                                     full_rebuild=full_rebuild) for name in entities()]
    return {"entities": [asdict(s) for s in stats], "branch": branch,
            "seconds": round(sum(s.seconds for s in stats), 3)}


def champion_trust() -> gold.TrustSource:
    """Trust scores from the champion model of ``ml.model_registry`` (none before the first promotion)."""
    champion = current_champion()
    if champion is None:
        return gold.TrustSource()
    return gold.TrustSource(champion["version"], model_scorer(champion["artifact_path"]))


def build_gold(spark: SparkSession, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
               full_rebuild: bool = False, **_: object) -> dict[str, Any]:
    """Silver -> Gold ``kol_summary`` with the champion's trust scores, on the run's branch."""
    stats = gold.silver_to_gold(spark, dag_id=dag_id, run_id=run_id, branch=branch, full_rebuild=full_rebuild,
                                trust=champion_trust())
    return asdict(stats)


def audit_branch(spark: SparkSession, *, branch: str | None = None, dag_id: str = "", run_id: str = "", **_: object) -> dict[str, Any]:
    """The lake checks of Silver and Gold as of ``branch``: what publishing would expose.

    A FAIL raises :class:`~lakehouse.core.errors.AuditError` naming the rule, the observed
    value and up to 20 offending rows; ``main`` stays untouched and the branch stays.
    """
    results, data_docs = run_lake_checks(spark, dag_id=dag_id, run_id=run_id, source=AUDIT_SOURCE,
                                         branch=branch, layers=("silver", "gold"))
    failed = [r for r in results if r.status == Status.FAIL]
    if failed:
        raise AuditError(branch or "main", failed)
    return {"branch": branch, "checks": [r.to_dict() for r in results],
            "warnings": sum(r.status == Status.WARN for r in results), "data_docs": data_docs}


def publish_branch(branch: str | None) -> dict:
    """Fast-forward ``main`` of every table to the audited branch, dropping it (no Spark: refs only)."""
    if not branch:
        return {"branch": None, "published": {}}
    started = time.monotonic()
    return {"branch": branch, "published": wap.publish(branch), "seconds": round(time.monotonic() - started, 3)}
