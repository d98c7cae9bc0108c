"""Column metrics on real Spark and Iceberg: measured in the suite's own pass, stored in
``audit.column_metrics``, judged against the runs before, and pruned."""

import re
import time

import pytest

from lakehouse.core.checks import CheckResult, Status
from lakehouse.quality.column_metrics import metric_checks, metric_history, prune_metrics, record_metrics
from lakehouse.quality.store import record
from lakehouse.quality.suites import SuiteRunner, discover, load_suite
from lakehouse.spark.phases import PROFILE, _spark_job_count

pytestmark = pytest.mark.integration

TABLE = "silver.kol_profiles"
DAG = "metrics_test"


def _profiles(spark, seed: int, rows: int = 2000, null_share: float = 0.0):
    """Silver-shaped profiles in the Iceberg table; ``null_share`` of usernames missing (a crafted break)."""
    from pyspark.sql import functions as F

    df = spark.range(rows).select(
        F.concat(F.lit("k"), F.col("id").cast("string")).alias("kol_id"),
        F.when(F.col("id") % 2 == 0, "tiktok").otherwise("youtube").alias("platform"),
        F.when(F.rand(seed) < null_share, None).otherwise(F.concat(F.lit("u"), F.col("id"))).alias("username"),
        (F.rand(seed + 1) * 100_000).cast("long").alias("followers_count"),
        (F.rand(seed + 2) * 50).alias("favorites_per_follower"),
        (F.rand(seed + 3) * 3000).cast("int").alias("account_age_days"))
    df.writeTo(f"lake.{TABLE}").createOrReplace()
    return spark.table(f"lake.{TABLE}")


def _measure(spark, seed: int, **kwargs):
    runner = SuiteRunner(metrics_sample_rows=20_000)
    runner.validate(_profiles(spark, seed, **kwargs), TABLE, load_suite(discover()[TABLE]), layer="silver")
    return runner.metrics


def _sketch_jobs() -> int:
    return PROFILE.phases.get("checks.metrics_sketch", {}).get("spark_jobs", 0)


def test_metrics_are_exact_and_measured_in_the_suite_pass(lake, spark_session):
    from pyspark.sql import functions as F

    spark, suite = spark_session, load_suite(discover()[TABLE])
    df = _profiles(spark, seed=1, null_share=0.1)
    jobs, compiles = {}, {}
    codegen = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    runners = {"plain": SuiteRunner(), "profiled": SuiteRunner(metrics_sample_rows=20_000),
               "sampled": SuiteRunner(metrics_sample_rows=500)}
    for name, runner in runners.items():
        runner.validate(df, TABLE, suite, layer="silver")  # warm: GX's first run plans more
        before, sketched, compiled = _spark_job_count(), _sketch_jobs(), codegen.getCount()
        checks = runner.validate(df, TABLE, suite, layer="silver")
        jobs[name], compiles[name] = _spark_job_count() - before, codegen.getCount() - compiled
        jobs[f"{name}.sketch"] = _sketch_jobs() - sketched
    # null rate and min/max/mean ride in the suite's own aggregate job; distinct ratios and quantiles come
    # from one more job that collects the batch (2,000 rows, within the 20,000-row sample: all of it) or,
    # larger than the sample, a uniform sample of it, measured on the driver
    assert jobs["profiled.sketch"] == jobs["sampled.sketch"] == 1, jobs
    assert jobs["profiled"] == jobs["sampled"] == jobs["plain"] + 1, jobs
    # GX's aggregate comes in a stable order (suites.adapter), so a suite's second run reuses the Spark
    # code its first compiled (a profiled table's aggregate is ~100 KB of Java)
    assert compiles == {"plain": 0, "profiled": 0, "sampled": 0}, compiles
    sampled = {(m.column, m.metric): m.value for m in runners["sampled"].metrics}
    runner = runners["profiled"]
    assert len(checks) == len(suite.expectations)  # observations are not checks
    got = {(m.column, m.metric): m.value for m in runner.metrics[-len(runner.metrics) // 2:]}
    exact = df.agg(F.avg(F.col("username").isNull().cast("double")).alias("null_rate"),
                   F.min("followers_count").alias("min"), F.max("followers_count").alias("max"),
                   F.avg("followers_count").alias("mean"),
                   F.percentile_approx("followers_count", 0.5, 1_000_000).alias("p50"),  # exact on 2,000 rows
                   F.percentile_approx("followers_count", 0.95, 1_000_000).alias("p95")).first()
    assert got[("username", "null_rate")] == pytest.approx(exact.null_rate, abs=1e-6)
    assert (got[("followers_count", "min")], got[("followers_count", "max")]) == (exact["min"], exact["max"])
    assert got[("followers_count", "mean")] == pytest.approx(exact.mean)
    assert (got[("followers_count", "p50")], got[("followers_count", "p95")]) == (exact.p50, exact.p95)
    assert sampled[("followers_count", "p50")] == pytest.approx(exact.p50, rel=0.15)  # ~500 sampled rows
    assert sampled[("followers_count", "min")] == exact["min"]  # the suite's pass still sees every row
    assert got[("kol_id", "distinct_ratio")] == 1.0  # the whole batch measured: exact
    assert got[("platform", "distinct_ratio")] == pytest.approx(2 / 2000, abs=1e-4)
    assert ("platform", "mean") not in got  # min/max/mean/percentiles for numerics only


def test_a_broken_column_warns_against_the_clean_runs_and_a_failed_run_stays_out(lake, spark_session):
    for i in range(3):  # three clean runs make the baseline
        record_metrics(lake, dag_id=DAG, run_id=f"clean-{i}", source="audit", metrics=_measure(spark_session, 10 + i))
    clean = metric_checks(lake, dag_id=DAG, run_id="clean-3", metrics=_measure(spark_session, 20))
    assert [(c.check_id, c.status) for c in clean] == [(f"metrics.{TABLE}", Status.PASS)], clean

    broken = _measure(spark_session, 21, null_share=0.3)  # a producer stopped sending usernames for 30 %
    [warned] = metric_checks(lake, dag_id=DAG, run_id="broken", metrics=broken)
    assert (warned.status, warned.observed) == (Status.WARN, 1)  # that one metric, nothing else
    assert re.search(r"username\.null_rate = 0\.(29|30|31)\d* outside \[-0\.04, 0\.04\] \(median 0 of 3 runs\)",
                     warned.details), warned.details

    # that run's gate failed (it recorded a FAIL): its metrics are kept, but never join a baseline
    record_metrics(lake, dag_id=DAG, run_id="broken", source="audit", metrics=broken)
    record(lake, dag_id=DAG, run_id="broken", source="audit",
           results=[CheckResult("suite.x", "silver", TABLE, Status.FAIL)])
    [again] = metric_checks(lake, dag_id=DAG, run_id="broken-2", metrics=broken)
    assert again.status == Status.WARN and "(median 0 of 3 runs)" in again.details


def test_metrics_history_is_replaced_per_run_and_pruned_by_age(lake, spark_session):
    metrics = _measure(spark_session, 30)
    for _ in range(2):  # a retried task replaces its rows
        record_metrics(lake, dag_id=DAG, run_id="r1", source="audit", metrics=metrics)
    history = metric_history(lake, DAG, {TABLE})
    assert len(history[(TABLE, "table", "username", "null_rate")]) == 1
    assert sum(len(points) for points in history.values()) == len(metrics)
    assert prune_metrics(lake, older_than=time.time() - 3600) == 0  # nothing older than an hour
    assert prune_metrics(lake, older_than=time.time() + 1) == len(metrics)
    assert metric_history(lake, DAG, {TABLE}) == {}


def test_a_suite_stored_by_an_earlier_version_still_loads(lake, spark_session, tmp_path):
    """The GX project under the reports dir outlives upgrades: its stored suites carry the profile expectation
    as an earlier version wrote it (with a ``sample_rows`` field this one refuses), and GX reads the stored
    suite before replacing it."""
    import json

    import great_expectations as gx

    from lakehouse.quality.suites.profile import ExpectTableProfileToBeRecorded

    runner = SuiteRunner(tmp_path / "gx", metrics_sample_rows=20_000)
    profile = ExpectTableProfileToBeRecorded(column_list=["username"], meta={"severity": "warning"})
    runner.context.suites.add(gx.ExpectationSuite(name=TABLE, expectations=[profile]))
    stored = tmp_path / "gx" / "gx" / "expectations" / f"{TABLE.replace('.', '/')}.json"  # GX's file layout
    old = json.loads(stored.read_text())
    old["expectations"][0]["kwargs"]["sample_rows"] = 20_000  # what the earlier version wrote
    stored.write_text(json.dumps(old))

    checks = runner.validate(_profiles(spark_session, seed=40), TABLE, load_suite(discover()[TABLE]), layer="silver")
    assert checks and all(c.status == Status.PASS for c in checks), checks
    assert {m.column for m in runner.metrics} >= {"username", "followers_count"}
    assert runner.docs_pages()[TABLE].endswith(".html")
