"""The Silver profiles suite (GX on Spark) on 1,000,000 rows vs one hand-written Spark aggregation, and the
same suite with column metrics vs without.

Silver is built by the real ETL from datagen Bronze. Every side reads the same
Iceberg table from disk, interleaved, median of 3; the hand pass computes the
same metrics (unexpected counts per rule, key uniqueness) and must agree with
GX, so the comparison is like for like. Targets: GX / hand <= 2; the suite with
column metrics (every column profiled in the suite's pass, sketches on a
sample) / the suite alone <= 1.15, with the Spark jobs each launched: the
profile adds none, the sample's sketches one. And the floor of that ratio: the
time Spark takes only to read the profiled columns the suite does not read
(``floor``), which any metric of every column must pay.
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


def read_columns(spark, columns: list[str]) -> None:
    """The null counts of ``columns``, the cheapest metric there is, from every row (summed flags: a ``count``,
    ``min`` or ``max`` alone Spark answers from Iceberg's file metrics without reading a row)."""
    from pyspark.sql import functions as F

    spark.table(f"lake.{TABLE}").agg(*[F.sum(F.col(c).isNull().cast("int")) for c in columns]).first()


def read_floor(spark, suite, suite_s: float, sample_s: float, repeats: int) -> dict:
    """What reading alone costs: null counts of the suite's columns vs of every profiled column, interleaved.

    A profile in the suite's pass makes that pass read every profiled column; the difference of the two reads is
    the least it can add, whatever it computes. Distinct ratios and quantiles need the values once more (a sample
    is read whole to keep a few rows) or sketches in the aggregate (no code generation for any rule of it).
    """
    from lakehouse.quality.suites.profile import profiled_type
    from lakehouse.quality.suites.runner import project

    df = spark.table(f"lake.{TABLE}")
    columns = {"suite": list(project(df, suite).columns),
               "profiled": [f.name for f in df.schema if profiled_type(f.dataType)]}
    runs = {name: [] for name in columns}
    for cols in columns.values():
        read_columns(spark, cols)  # warm-up
    for _ in range(repeats):
        for name, cols in columns.items():
            runs[name].append(timed(read_columns, spark, cols)[0])
    extra = median(runs["profiled"]) - median(runs["suite"])
    return {
        "columns": {name: len(cols) for name, cols in columns.items()},
        "read_suite_columns_s": median(runs["suite"]), "read_profiled_columns_s": median(runs["profiled"]),
        "reads_s": {k: [round(t, 3) for t in v] for k, v in runs.items()},
        "ratio_reading_the_other_columns": round((suite_s + extra) / suite_s, 3),
        "ratio_reading_them_and_the_sample": round((suite_s + extra + sample_s) / suite_s, 3),
    }


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
    sketch_s = round(sketch.get("seconds", 0) / max(1, sketch.get("calls", 1)), 3)
    return {
        "suite_s": median(runs["suite"]), "suite_with_metrics_s": median(runs["suite_with_metrics"]),
        "runs_s": {k: [round(t, 3) for t in v] for k, v in runs.items()},
        "spark_jobs": jobs, "sketch_s_per_run": sketch_s,
        "sample_rows": sample_rows, "columns_profiled": len({m.column for m in metrics}), "metrics": len(metrics),
        "ratio_with_over_without": ratio, "target_ratio": METRICS_TARGET_RATIO,
        "meets_target": ratio <= METRICS_TARGET_RATIO,
        "floor": read_floor(spark, suite, median(runs["suite"]), sketch_s, 2 * repeats + 1),
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
