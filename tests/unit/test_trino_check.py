"""Trino vs Spark on Gold: the comparison rule, and the SKIP without an endpoint (no Trino server here)."""

from lakehouse.config import Settings
from lakehouse.core.checks import Status
from lakehouse.quality.trino import compare_totals, totals_sql, trino_matches_spark

SPARK = {"rows": 2000, "trending_score": 61234.5, "success_score": 48000.25, "trust_score": 1200.0,
         "final_score": 51234.125}


def test_equal_totals_pass_and_summation_order_noise_is_tolerated():
    trino = {**SPARK, "final_score": SPARK["final_score"] * (1 + 1e-12)}
    assert compare_totals(SPARK, trino, 7).status == Status.PASS


def test_a_missing_row_or_a_different_score_sum_fails_naming_it():
    result = compare_totals(SPARK, {**SPARK, "rows": 1999, "trust_score": 1201.0}, 7)
    assert (result.status, result.observed) == (Status.FAIL, 2)
    assert "rows: spark 2000 trino 1999" in result.details and "trust_score" in result.details


def test_without_a_trino_endpoint_the_check_is_a_skip_with_the_reason():
    result = trino_matches_spark(Settings(), spark=None, snapshot_id=1)
    assert result.status == Status.SKIP and "LAKEHOUSE_TRINO_URL" in result.details


def test_both_engines_run_one_query_text():
    assert totals_sql("t").startswith("SELECT count(*) AS rows, sum(trending_score) AS trending_score")
