"""Silver -> Gold ``kol_summary``: one row per KOL with metrics, tier and scores.

Scores (0-100):
- trending: percentile of recent engagement velocity (views+likes of the last
  7 days per day, relative to the newest video) within the platform, tie-broken
  by overall engagement so scores spread;
- success: percentile of the engagement rate within the platform;
- trust: from the trust model (filled by the model issue; null until then);
- final = 0.40 x trending + 0.35 x success + 0.25 x trust. While trust is null
  the final score renormalizes the available weights:
  (0.40 x trending + 0.35 x success) / 0.75.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE
from lakehouse.etl.tables import create_table_like, lineage_properties, snapshot_id
from lakehouse.etl.wap import ensure_branch, writing_to

WEIGHTS = {"trending": 0.40, "success": 0.35, "trust": 0.25}
TIERS = ((10_000, "nano"), (100_000, "micro"), (500_000, "mid"), (1_000_000, "macro"))
VELOCITY_WINDOW_DAYS = 7


@dataclass
class GoldStats:
    rows: int
    silver_kols: int
    upstream: dict
    gold_snapshot_id: int | None
    seconds: float


def tier_expr(followers):
    from pyspark.sql import functions as F

    expr = None
    for bound, name in TIERS:
        expr = F.when(followers < bound, name) if expr is None else expr.when(followers < bound, name)
    return expr.otherwise("mega")


def build_summary(profiles, videos, comments):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    as_of = videos.agg(F.max("published_at")).collect()[0][0]
    recent = F.col("published_at") >= F.lit(as_of) - F.expr(f"INTERVAL {VELOCITY_WINDOW_DAYS} DAYS") if as_of else F.lit(False)
    v = videos.groupBy("platform", "kol_id").agg(
        F.count("*").alias("video_count"),
        F.sum("views").alias("total_views"),
        F.avg("views").alias("avg_views"),
        F.avg("likes").alias("avg_likes"),
        F.avg("comments").alias("avg_comments"),
        F.avg("shares").alias("avg_shares"),
        (F.sum(F.when(recent, F.col("views") + 10 * F.col("likes"))) / VELOCITY_WINDOW_DAYS).alias("velocity"),
    )
    c = comments.groupBy("platform", "kol_id").agg(
        F.count("*").alias("comment_count"), F.avg("likes").alias("avg_comment_likes")
    )
    p = profiles.select(
        "platform", "kol_id", "username", "followers_count", "following_count", "post_count",
        "favorites_count", "verified", "account_age_days",
    )
    df = p.join(v, ["platform", "kol_id"], "left").join(c, ["platform", "kol_id"], "left")
    df = df.fillna(0, subset=["video_count", "total_views", "comment_count", "velocity"])
    engagement = (
        F.coalesce(F.col("avg_likes"), F.lit(0.0)) + F.coalesce(F.col("avg_comments"), F.lit(0.0))
        + F.coalesce(F.col("avg_shares"), F.lit(0.0))
    ) / F.greatest(F.col("followers_count"), F.lit(1))
    df = df.withColumn("engagement_rate", F.round(engagement, 6))
    by_platform = Window.partitionBy("platform")
    df = df.withColumn(
        "trending_score",
        F.round(100 * F.percent_rank().over(by_platform.orderBy(F.log1p("velocity"), "engagement_rate", "kol_id")), 4),
    ).withColumn(
        "success_score",
        F.round(100 * F.percent_rank().over(by_platform.orderBy("engagement_rate", "favorites_count", "kol_id")), 4),
    )
    df = df.withColumn("trust_score", F.lit(None).cast("double"))
    df = df.withColumn(
        "final_score",
        F.round(
            F.when(
                F.col("trust_score").isNull(),
                (WEIGHTS["trending"] * F.col("trending_score") + WEIGHTS["success"] * F.col("success_score"))
                / (WEIGHTS["trending"] + WEIGHTS["success"]),
            ).otherwise(
                WEIGHTS["trending"] * F.col("trending_score") + WEIGHTS["success"] * F.col("success_score")
                + WEIGHTS["trust"] * F.col("trust_score")
            ),
            6,
        ),
    )
    return df.withColumn("tier", tier_expr(F.col("followers_count"))).withColumn(
        "computed_at", F.current_timestamp()
    )


def silver_to_gold(spark, *, dag_id: str = "", run_id: str = "", branch: str | None = None, **_) -> GoldStats:
    """Recompute ``gold.kol_summary`` from Silver as of ``branch`` (this run's Silver) and write it there."""
    from pyspark.sql import functions as F

    started = time.monotonic()
    upstream = {}
    frames = {}
    for name, entity in ENTITIES.items():
        ref = branch if branch and snapshot_id(spark, entity.silver_table, branch) is not None else "main"
        sid = snapshot_id(spark, entity.silver_table, ref)
        if sid is None:
            raise RuntimeError(f"{entity.silver_table} has no snapshot: run bronze_to_silver first")
        upstream[entity.silver_table] = sid
        frames[name] = spark.read.option("snapshot-id", sid).table(f"lake.{entity.silver_table}")
    summary = build_summary(frames["profiles"], frames["videos"], frames["comments"]).cache()
    rows = summary.count()
    silver_kols = frames["profiles"].select("platform", "kol_id").distinct().count()
    create_table_like(spark, GOLD_SUMMARY_TABLE, summary)
    if branch:
        ensure_branch(spark, GOLD_SUMMARY_TABLE, branch)
    props = lineage_properties(dag_id, run_id, upstream=upstream, stats={"rows": rows, "silver-kols": silver_kols})
    writer = summary.writeTo(f"lake.{GOLD_SUMMARY_TABLE}")
    for key, value in props.items():
        writer = writer.option(f"snapshot-property.{key}", value)
    with writing_to(spark, branch):
        writer.overwrite(F.lit(True))  # one atomic snapshot replacing the whole summary
    summary.unpersist()
    return GoldStats(rows, silver_kols, upstream, snapshot_id(spark, GOLD_SUMMARY_TABLE, branch or "main"),
                     round(time.monotonic() - started, 3))


def run(spark, **kwargs) -> dict:
    return asdict(silver_to_gold(spark, **kwargs))
