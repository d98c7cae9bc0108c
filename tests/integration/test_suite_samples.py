"""Sample values and offending keys of failed rules, fetched for failures alone and kept where users read
them: the check's details, the stored GX result of the failures and its Data Docs page."""

import json
from pathlib import Path

import pytest

from lakehouse.core.checks import Status, offending_rows
from lakehouse.quality.suites import SuiteRunner, discover, load_suite
from lakehouse.spark.phases import _spark_job_count

pytestmark = pytest.mark.integration

TABLE = "silver.kol_profiles"
KEYS = ("platform", "kol_id")
RULE = f"suite.{TABLE}.expect_column_values_to_be_between.followers_count"


def _profiles(spark, negative: int = 0):
    """Silver-shaped profiles; the first ``negative`` have followers_count -5 (breaks positive_followers)."""
    from pyspark.sql import functions as F

    return spark.range(300).select(
        F.concat(F.lit("k"), F.col("id").cast("string")).alias("kol_id"),
        F.when(F.col("id") % 2 == 0, "tiktok").otherwise("youtube").alias("platform"),
        F.concat(F.lit("u"), F.col("id")).alias("username"),
        F.when(F.col("id") < negative, -5).otherwise(F.col("id") * 10).cast("long").alias("followers_count"),
        (F.col("id") % 7).cast("double").alias("favorites_per_follower"),
        (F.col("id") + 30).cast("int").alias("account_age_days"))


def _jobs(fn) -> int:
    before = _spark_job_count()
    fn()
    return _spark_job_count() - before


def test_passing_rules_fetch_no_samples_and_a_failure_keeps_its_samples_in_check_store_and_docs(
        lake, spark_session, tmp_path):
    import great_expectations as gx

    suite, clean, broken = load_suite(discover()[TABLE]), _profiles(spark_session), _profiles(spark_session, 3)
    runner = SuiteRunner(tmp_path / "gx", run_name="samples")
    runner.validate(clean, TABLE, suite, layer="silver", key_columns=KEYS)  # warm: GX's first run plans more
    ours = _jobs(lambda: runner.validate(clean, TABLE, suite, layer="silver", key_columns=KEYS))
    with_samples = _jobs(lambda: runner.context.data_sources.get("lake").get_asset(TABLE)
                         .get_batch_definition("whole").get_batch(batch_parameters={"dataframe": clean})
                         .validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 20}))
    assert ours < with_samples, (ours, with_samples)  # GX alone scans once more per rule for samples

    checks = {c.check_id: c for c in runner.validate(broken, TABLE, suite, layer="silver", key_columns=KEYS)}
    failed = checks[RULE]
    assert failed.status == Status.FAIL and failed.details.startswith("3 unexpected;"), failed
    assert sorted(r["kol_id"] for r in offending_rows(failed.details)) == ["k0", "k1", "k2"]
    assert all(c.status == Status.PASS for k, c in checks.items() if k != RULE)

    # GX stored (and its checkpoint's Data Docs action rendered) the table's counts and, beside them, the
    # failures with their samples: the offending-rows validation
    store = gx.get_context(mode="file", project_root_dir=str(tmp_path / "gx")).validation_results_store
    counts = store.get(runner.validated[TABLE])
    assert [r.success for r in counts.results].count(False) == 1
    [result] = [r for r in store.get(runner.validated[f"{TABLE}.offending"]).results if not r.success]
    assert result.result["partial_unexpected_list"] == [-5, -5, -5]
    assert sorted(r["kol_id"] for r in result.result["partial_unexpected_index_list"]) == ["k0", "k1", "k2"]
    page = runner.docs_pages()[f"{TABLE}.offending"]
    html = Path(page).read_text()
    assert '<div class="show-scrollbars">-5</div>' in html  # the sample-values table of the FAIL

    unkeyed = SuiteRunner().validate(broken, TABLE, suite, layer="silver")  # no keys: the sample values
    [failed] = [c for c in unkeyed if c.status == Status.FAIL]
    assert offending_rows(failed.details) == [{"value": -5}] * 3 and json.dumps([-5, -5, -5]) in failed.details
