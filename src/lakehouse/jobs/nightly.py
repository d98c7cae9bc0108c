"""The Spark half of ``kol_quality_nightly``: every suite, counts, accounting and lineage on ``main``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.core.checks import Status
from lakehouse.quality.lake_checks import run_lake_checks
from lakehouse.quality.table_checks import LAKE_CHECKS_SOURCE, scope

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def nightly_lake_checks(spark: SparkSession, *, dag_id: str = "", run_id: str = "", params: dict[str, Any] | None = None, **_: object) -> dict[str, Any]:
    """Recorded under ``lake_checks``; the DAG's Params narrow the layers and tables."""
    layers, tables = scope(params)
    results, data_docs = run_lake_checks(spark, dag_id=dag_id, run_id=run_id, source=LAKE_CHECKS_SOURCE,
                                         layers=layers, tables=tables)
    return {"checks": len(results), "data_docs": data_docs,
            "failed": [r.check_id for r in results if r.status == Status.FAIL]}
