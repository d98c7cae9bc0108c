"""The Silver profiles suite (GX on Spark) on 1,000,000 rows vs one hand-written Spark aggregation, and the
same suite with column metrics vs without.

Silver is built by the real ETL from datagen Bronze. Every side reads the same
Iceberg table from disk, interleaved, median of 3; the hand pass computes the
same metrics (unexpected counts per rule, key uniqueness) and must agree with
GX, so the comparison is like for like. Targets: GX / hand <= 2; the suite with
column metrics (every column profiled in the suite's pass, sketches on a
sample) / the suite alone <= 1.15, with the Spark jobs each launched: the
profile adds none, the sample's sketches one.
"""

from __future__ import annotations

from bench.common import median, spark_lake, timed

TARGET_RATIO = 2.0
METRICS_TARGET_RATIO = 1.15
TABLE = "silver.kol_profiles"


def hand_metrics(spark) -> dict:
    """The Silver suite's rules as one aggregation pass (what a data engineer would write by hand)."""
    from pyspark.sql import functions as F

    def unexpected(cond):
        return F.sum(F.when(cond, 1).otherwise(0))

    row = spark.table(f"lake.{TABLE}").agg(
        F.count("*").alias("rows"),
        unexpected(F.col("username").isNull()).alias("username_null"),
        unexpected(F.col("followers_count") < 0).alias("followers_negative"),
        unexpected(~F.col("platform").isin("tiktok", "youtube")).alias("platform_unknown"),
        unexpected(F.col("favorites_per_follower") > 1000).alias("favorites_per_follower_high"),
        F.countDistinct("platform", "kol_id").alias("distinct_keys"),
        unexpected(F.col("account_age_days") < 0).alias("account_age_negative"),
    ).first()
    return row.asDict()


def gx_metrics(spark, runner, suite) -> dict:
    results = runner.validate(spark.table(f"lake.{TABLE}"), TABLE, suite, layer="silver")
    return {r.check_id.split(".", 3)[3]: (str(r.status), r.observed) for r in results}


def with_jobs(fn, *args):
    """``(seconds, Spark jobs launched, result)`` of one call."""
    from lakehouse.spark.phases import _spark_job_count

    jobs = _spark_job_count()
    seconds, out = timed(fn, *args)
    return seconds, _spark_job_count() - jobs, out


def metrics_cost(spark, suite, sample_rows: int, repeats: int) -> dict:
    """The suite with column metrics vs the same suite alone, interleaved; Spark jobs per run of each."""
    from lakehouse.quality.suites import SuiteRunner
    from lakehouse.spark.phases import PROFILE

    plain, profiled = SuiteRunner(), SuiteRunner(metrics_sample_rows=sample_rows)
    gx_metrics(spark, profiled, suite)  # warm-up: the profile metric's code paths
    runs = {"suite": [], "suite_with_metrics": []}
    jobs = {}
    PROFILE.phases.pop("checks.metrics_sketch", None)
    for _ in range(repeats):
        for name, runner in (("suite", plain), ("suite_with_metrics", profiled)):
            profiled.metrics.clear()
            seconds, jobs[name], _ = with_jobs(gx_metrics, spark, runner, suite)
            runs[name].append(seconds)
    metrics = profiled.metrics
    sketch = PROFILE.phases.get("checks.metrics_sketch", {})
    ratio = round(median(runs["suite_with_metrics"]) / median(runs["suite"]), 3)
    return {
        "suite_s": median(runs["suite"]), "suite_with_metrics_s": median(runs["suite_with_metrics"]),
        "runs_s": {k: [round(t, 3) for t in v] for k, v in runs.items()},
        "spark_jobs": jobs, "sketch_s_per_run": round(sketch.get("seconds", 0) / max(1, sketch.get("calls", 1)), 3),
        "sample_rows": sample_rows, "columns_profiled": len({m.column for m in metrics}), "metrics": len(metrics),
        "ratio_with_over_without": ratio, "target_ratio": METRICS_TARGET_RATIO,
        "meets_target": ratio <= METRICS_TARGET_RATIO,
        "example": {f"{m.column}.{m.metric}": m.value for m in metrics if m.column == "followers_count"},
    }


def run(profiles: int = 1_000_000, repeats: int = 3) -> dict:
    from bench.etl import load_bronze, spec
    from lakehouse.datagen import generate
    from lakehouse.etl import silver
    from lakehouse.quality.suites import SuiteRunner, discover, load_suite

    with spark_lake("quality") as (settings, spark):
        load_bronze(settings, generate(spec(profiles, seed=3)))
        silver.bronze_to_silver(spark, "profiles", run_id="bench")
        rows = spark.table(f"lake.{TABLE}").count()
        suite = load_suite(discover()[TABLE])
        runner = SuiteRunner()  # validation only: Data Docs rendering is not part of the metric cost
        gx_metrics(spark, runner, suite)  # warm-up: GX imports, metric registry, JIT
        hand_metrics(spark)
        gx_times, hand_times = [], []
        for _ in range(repeats):
            t, gx_out = timed(gx_metrics, spark, runner, suite)
            gx_times.append(t)
            t, hand = timed(hand_metrics, spark)
            hand_times.append(t)
        column_metrics = metrics_cost(spark, suite, settings.metrics_sample_rows, repeats)
    agree = (hand["rows"] == rows and hand["distinct_keys"] == rows
             and all(status == "PASS" for status, _ in gx_out.values())
             and hand["username_null"] == hand["followers_negative"] == hand["platform_unknown"] == 0)
    ratio = round(median(gx_times) / median(hand_times), 3)
    return {
        "rows": rows,
        "expectations": len(gx_out),
        "gx_suite_s": median(gx_times),
        "hand_aggregation_s": median(hand_times),
        "gx_runs_s": [round(t, 3) for t in gx_times],
        "hand_runs_s": [round(t, 3) for t in hand_times],
        "ratio_gx_over_hand": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "metrics_agree": agree,
        "hand_metrics": hand,
        "column_metrics": column_metrics,
    }
