"""Gold scores: per-KOL metrics, the per-platform score reference, and the 0-100 scores.

- trending: where the KOL's recent engagement velocity (views + 10 x likes of
  the last 7 days, per day, relative to the newest video) falls in its
  platform's distribution, tie-broken by engagement rate so scores spread;
- success: where the KOL's engagement rate falls in its platform's distribution;
- trust: the champion trust model's score, 20-100 (joined in by the Gold job);
- final: :func:`lakehouse.core.scoring.final_score`.

"Falls in the distribution" is read off a reference of 1,001 quantiles per
platform and score, fitted on a full rebuild and kept in ``gold.score_reference``,
so an incremental run scores changed KOLs against the same scale.
"""

from __future__ import annotations

import warnings

from lakehouse.core.scoring import TIERS, TOP_TIER, final_score

VELOCITY_WINDOW_DAYS = 7
QUANTILES = 1001
SCORED = {"trending_score": "trending_value", "success_score": "success_value"}


def tier_expr(followers):
    from pyspark.sql import functions as F

    expr = None
    for bound, name in TIERS:
        expr = F.when(followers < bound, name) if expr is None else expr.when(followers < bound, name)
    return expr.otherwise(TOP_TIER)


def build_metrics(profiles, videos, comments, as_of):
    """Per-KOL metrics and the raw values the scores rank (no scores yet)."""
    from pyspark.sql import functions as F

    window_start = F.lit(as_of) - F.expr(f"INTERVAL {VELOCITY_WINDOW_DAYS} DAYS")
    recent = F.col("published_at") >= window_start if as_of else F.lit(False)
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
    # bounded tie-breakers (< 1e-3 of a unit) keep equal primary values apart
    bounded = F.col("engagement_rate") / (F.col("engagement_rate") + 1)
    favs = F.log1p(F.col("favorites_count").cast("double"))
    return (
        df.withColumn("trending_value", F.log1p("velocity") + 1e-3 * bounded)
        .withColumn("success_value", F.col("engagement_rate") + 1e-9 * favs / (favs + 1))
    )


def fit_reference(metrics, run_id: str):
    """Per platform and score: 1,001 quantiles of the raw value (the score scale)."""
    from pyspark.sql import functions as F

    probs = [i / (QUANTILES - 1) for i in range(QUANTILES)]
    frames = [
        metrics.groupBy("platform").agg(F.percentile_approx(value, probs, 100_000).alias("quantiles"))
        .withColumn("score", F.lit(score))
        for score, value in SCORED.items()
    ]
    ref = frames[0].unionByName(frames[1])
    return ref.withColumn("fitted_run_id", F.lit(run_id)).withColumn("fitted_at", F.current_timestamp())


def apply_scores(metrics, reference_rows):
    """Scores 0-100 by interpolating each value in its platform's reference quantiles."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.functions import PandasUDFType, pandas_udf

    fp = np.linspace(0.0, 100.0, QUANTILES)
    scales = {}
    for row in reference_rows:
        xp = np.asarray(row["quantiles"], dtype=float)
        scales[(row["platform"], row["score"])] = xp + np.arange(len(xp)) * 1e-12  # strictly increasing

    def scorer(score: str):
        # explicit function type: this module's annotations are strings (PEP 563)
        def _score(platform, value):
            out = np.zeros(len(value))
            for name in platform.unique():
                xp = scales.get((name, score))
                mask = (platform == name).to_numpy()
                if xp is not None:
                    out[mask] = np.interp(value[mask].to_numpy(dtype=float), xp, fp)
            return pd.Series(np.round(out, 4))

        with warnings.catch_warnings():  # the explicit type is deliberate (see above)
            warnings.simplefilter("ignore", UserWarning)
            return pandas_udf(_score, "double", PandasUDFType.SCALAR)

    df = metrics
    for score, value in SCORED.items():
        df = df.withColumn(score, scorer(score)(F.col("platform"), F.col(value)))
    if "trust_score" not in df.columns:
        df = df.withColumn("trust_score", F.lit(None).cast("double"))
    trending, success, trust = F.col("trending_score"), F.col("success_score"), F.col("trust_score")
    final = F.when(trust.isNull(), final_score(trending, success, None)).otherwise(
        final_score(trending, success, trust))
    return (
        df.withColumn("final_score", F.round(final, 6))
        .withColumn("tier", tier_expr(F.col("followers_count")))
        .withColumn("computed_at", F.current_timestamp())
        .drop(*SCORED.values())
    )
