"""Trust-model features: one row per KOL from Silver profiles, videos and comments.

The same function builds features for training, for Gold scoring and for the
behavioural test cases (a hand-written profile dict), so what the model was
trained on is exactly what it scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FEATURES = (
    "log_followers", "log_following", "follower_following_ratio", "log_posts", "likes_per_follower",
    "log_account_age_days", "verified", "has_bio", "has_url", "has_profile_image", "bio_length",
    "log_videos", "video_engagement", "log_comments",
)
KEY = ("platform", "kol_id")
PROFILE_COLUMNS = ("platform", "kol_id", "followers_count", "following_count", "post_count", "favorites_count",
                   "account_age_days", "verified", "has_bio", "has_url", "has_profile_image", "bio_length")


def kol_features(profiles: DataFrame, videos: DataFrame | None = None, comments: DataFrame | None = None) -> DataFrame:
    """``KEY + FEATURES`` per KOL; videos/comments optional (no activity = zero engagement)."""
    from pyspark.sql import functions as F

    def log1p(col: str) -> Column:
        return F.log1p(F.greatest(F.coalesce(F.col(col).cast("double"), F.lit(0.0)), F.lit(0.0)))

    df = profiles.select(*PROFILE_COLUMNS)
    if videos is not None:
        v = videos.groupBy(*KEY).agg(
            F.count("*").alias("video_count"),
            (F.avg(F.col("likes") + F.col("comments") + F.col("shares"))).alias("avg_interactions"))
        df = df.join(v, list(KEY), "left")
    else:
        df = df.withColumn("video_count", F.lit(0)).withColumn("avg_interactions", F.lit(0.0))
    if comments is not None:
        df = df.join(comments.groupBy(*KEY).agg(F.count("*").alias("comment_count")), list(KEY), "left")
    else:
        df = df.withColumn("comment_count", F.lit(0))
    followers = F.greatest(F.coalesce(F.col("followers_count"), F.lit(0)).cast("double"), F.lit(1.0))
    following = F.greatest(F.coalesce(F.col("following_count"), F.lit(0)).cast("double"), F.lit(1.0))
    flag = lambda c: F.coalesce(F.col(c), F.lit(False)).cast("double")  # noqa: E731
    return df.select(
        *KEY,
        log1p("followers_count").alias("log_followers"),
        log1p("following_count").alias("log_following"),
        F.log(followers / following).alias("follower_following_ratio"),
        log1p("post_count").alias("log_posts"),
        F.log1p(F.coalesce(F.col("favorites_count").cast("double"), F.lit(0.0)) / followers).alias(
            "likes_per_follower"),
        log1p("account_age_days").alias("log_account_age_days"),
        flag("verified").alias("verified"),
        flag("has_bio").alias("has_bio"),
        flag("has_url").alias("has_url"),
        flag("has_profile_image").alias("has_profile_image"),
        (F.least(F.coalesce(F.col("bio_length"), F.lit(0)), F.lit(500)) / 500.0).alias("bio_length"),
        log1p("video_count").alias("log_videos"),
        F.log1p(F.coalesce(F.col("avg_interactions"), F.lit(0.0)) / followers).alias("video_engagement"),
        log1p("comment_count").alias("log_comments"),
    )


def profile_frame(spark: SparkSession, profile: dict[str, Any]) -> DataFrame:
    """A one-row Silver-shaped profile from a plain dict (the behavioural test cases)."""
    row = {
        "platform": profile.get("platform", "tiktok"), "kol_id": profile.get("kol_id", "case"),
        "followers_count": profile["followers_count"], "following_count": profile["following_count"],
        "post_count": profile["post_count"], "favorites_count": profile["favorites_count"],
        "account_age_days": profile["account_age_days"], "verified": profile.get("verified", False),
        "has_bio": bool(profile.get("bio")), "has_url": bool(profile.get("url")),
        "has_profile_image": bool(profile.get("profile_image_url")), "bio_length": len(profile.get("bio") or ""),
    }
    schema = ("platform string, kol_id string, followers_count long, following_count long, post_count long, "
              "favorites_count long, account_age_days int, verified boolean, has_bio boolean, has_url boolean, "
              "has_profile_image boolean, bio_length int")
    return spark.createDataFrame([row], schema)
