"""Trino reads what Spark wrote: Gold's row count and score sums, both engines on the same snapshot.

The full stack's Trino (``docker/trino/lake.properties``) reads the same JDBC catalog; when
``LAKEHOUSE_TRINO_URL`` names it, the nightly compares the two engines. Without it, a SKIP saying so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.names import GOLD_SUMMARY_TABLE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CHECK_ID = "gold.trino_matches_spark"
SCORE_COLUMNS = ("trending_score", "success_score", "trust_score", "final_score")
REL_TOLERANCE = 1e-9  # sums of doubles in another order


def totals_sql(table: str) -> str:
    sums = ", ".join(f"sum({c}) AS {c}" for c in SCORE_COLUMNS)
    return f"SELECT count(*) AS rows, {sums} FROM {table}"


def spark_totals(spark: SparkSession, snapshot_id: int) -> dict[str, float]:
    from lakehouse.spark.tables import read_snapshot

    read_snapshot(spark, GOLD_SUMMARY_TABLE, snapshot_id).createOrReplaceTempView("gold_for_trino")
    [totals] = spark.sql(totals_sql("gold_for_trino")).collect()
    return dict(totals.asDict())  # sums of an empty table stay None, as Trino's do


def trino_totals(settings: Settings, snapshot_id: int) -> dict[str, float]:
    """The same query through Trino's ``lake`` catalog, on the same snapshot (``FOR VERSION AS OF``)."""
    import trino

    url = urlsplit(settings.trino_url)
    conn = trino.dbapi.connect(  # type: ignore[no-untyped-call]  # the trino client leaves connect unannotated
        host=url.hostname, port=url.port or 8080, user="kol-lakehouse", http_scheme=url.scheme or "http",
        catalog="lake", request_timeout=60)
    try:
        cursor = conn.cursor()
        cursor.execute(totals_sql(f"lake.{GOLD_SUMMARY_TABLE} FOR VERSION AS OF {int(snapshot_id)}"))
        row = cursor.fetchone()
        return dict(zip(["rows", *SCORE_COLUMNS], row, strict=True))
    finally:
        conn.close()


def compare_totals(spark: dict[str, Any], trino: dict[str, Any], snapshot_id: int) -> CheckResult:
    """Equal row counts and score sums equal up to summation order."""
    differ = [k for k in ("rows", *SCORE_COLUMNS)
              if not math.isclose(float(spark[k] or 0), float(trino[k] or 0), rel_tol=REL_TOLERANCE)]
    status = Status.FAIL if differ else Status.PASS
    details = f"snapshot {snapshot_id}; " + ("; ".join(f"{k}: spark {spark[k]} trino {trino[k]}" for k in differ)
                                             if differ else f"{spark['rows']} rows, score sums equal")
    return CheckResult(CHECK_ID, "gold", GOLD_SUMMARY_TABLE, status, len(differ), "== 0 differences", details)


def trino_matches_spark(settings: Settings, spark: SparkSession, snapshot_id: int | None) -> CheckResult:
    if not settings.trino_url:
        return CheckResult(CHECK_ID, "gold", GOLD_SUMMARY_TABLE, Status.SKIP, None, "== 0 differences",
                           "no Trino endpoint: set LAKEHOUSE_TRINO_URL (the full stack sets it)")
    if snapshot_id is None:
        return CheckResult(CHECK_ID, "gold", GOLD_SUMMARY_TABLE, Status.SKIP, None, "== 0 differences",
                           "Gold has no snapshot yet")
    return compare_totals(spark_totals(spark, snapshot_id), trino_totals(settings, snapshot_id), snapshot_id)
