"""Gold scores: per-KOL metrics, the per-platform score reference, and the 0-100 scores.

- trending: the KOL's recent engagement velocity (views + 10 x likes of the
  last 7 days, per day, relative to the newest video), tie-broken by
  engagement rate; only *active* KOLs (a video in the window) have one. The
  others get the documented floor 0 with ``trending_reason = 'no_recent_videos'``,
  rank last, and are left out of the trending reference and its checks;
- success: the KOL's engagement rate, tie-broken by favorites;
- trust: the champion trust model's score, 20-100 (joined in by the Gold job);
- final: :func:`lakehouse.core.scoring.final_score`.

Trending and success are *tail-stretched percentiles*: with ``p`` the share of
the platform's ``n`` reference KOLs below the value, ``score = 100 (1 - ln(1 +
n (1 - p)) / ln(2 + n))``. ``n (1 - p)`` is the KOL's rank from the top, so
every tenfold step up the ranking adds the same number of points: the top 50
of any platform span ``100 ln 51 / ln(2 + n)`` points (37 at 50,000 KOLs,
30 at 500,000), where a plain percentile squeezes them into the last few. The
last active KOL stays above 0, the floor of the inactive ones.

``p`` is read off a reference of quantiles per platform and score, dense in
the tail (:data:`PROBABILITIES`), fitted on a full rebuild and kept in
``gold.score_reference`` with ``n``, so an incremental run scores changed KOLs
on the same scale.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakehouse.core.scoring import TIERS, TOP_TIER, final_score

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    from pyspark.sql import Column, DataFrame, Row

    FloatArray = npt.NDArray[np.float64]
    Scale = tuple[FloatArray, FloatArray, int]  # quantiles, probabilities, population

VELOCITY_WINDOW_DAYS = 7
SCORED = {"trending_score": "trending_value", "success_score": "success_value"}
NO_RECENT_VIDEOS = "no_recent_videos"  # trending_reason of a KOL without a video in the window
# Quantiles evenly spaced in log(1 - p), i.e. in rank from the top, from the bottom (1 - p = 1) to the top
# 0.0001 % (1 - p = 1e-6), 200 per decade, plus the maximum: every step between two is the same ~1.2 % of
# rank, the same few tenths of a point on the score, at the top as in the bulk.
PROBABILITIES = (*(1 - 10 ** (-k / 200) for k in range(1201)), 1.0)
REFERENCE_ACCURACY = 1_000_000  # percentile_approx: rank error <= n / accuracy
SCORE_DECIMALS = 6


def tier_expr(followers: Column) -> Column:
    from pyspark.sql import functions as F

    (first_bound, first_name), *rest = TIERS
    expr = F.when(followers < first_bound, first_name)
    for bound, name in rest:
        expr = expr.when(followers < bound, name)
    return expr.otherwise(TOP_TIER)


def build_metrics(profiles: DataFrame, videos: DataFrame, comments: DataFrame,
                  as_of: datetime | str | None) -> DataFrame:
    """Per-KOL metrics and the raw values the scores rank (no scores yet); ``as_of``: the newest video's time
    (a timestamp, or its text as Gold's watermark keeps it), the end of the velocity window."""
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
    active = F.col("velocity") > 0
    return (
        df.withColumn("trending_value", F.when(active, F.log1p("velocity") + 1e-3 * bounded))
        .withColumn("trending_reason", F.when(~active, F.lit(NO_RECENT_VIDEOS)))
        .withColumn("success_value", F.col("engagement_rate") + 1e-9 * favs / (favs + 1))
    )


def fit_reference(metrics: DataFrame, run_id: str) -> DataFrame:
    """Per platform and score: the quantiles of the raw value at :data:`PROBABILITIES` and ``population``,
    the number of KOLs they describe (inactive KOLs have no trending value and are not counted)."""
    from pyspark.sql import functions as F

    probs = list(PROBABILITIES)
    frames = [
        metrics.where(F.col(value).isNotNull()).groupBy("platform").agg(
            F.percentile_approx(value, probs, REFERENCE_ACCURACY).alias("quantiles"),
            F.count("*").alias("population"),
        ).withColumn("score", F.lit(score))
        for score, value in SCORED.items()
    ]
    ref = frames[0].unionByName(frames[1])
    return (ref.withColumn("probabilities", F.array(*(F.lit(p) for p in probs)))
            .withColumn("fitted_run_id", F.lit(run_id)).withColumn("fitted_at", F.current_timestamp()))


def tail_stretched(p: FloatArray, n: int) -> FloatArray:
    """``100 (1 - ln(1 + n (1 - p)) / ln(2 + n))``: 100 at the top, just above 0 at the bottom (0 is the
    inactive KOLs' floor), every tenfold step in rank from the top worth the same points (floats or numpy)."""
    import numpy as np

    stretched: FloatArray = 100.0 * (1.0 - np.log1p(max(n, 0) * (1.0 - p)) / math.log(2 + max(n, 0)))
    return stretched


def reference_scales(reference_rows: Iterable[Row | dict[str, Any]]) -> dict[tuple[str, str], Scale]:
    """``{(platform, score): (quantiles, probabilities, population)}`` from ``gold.score_reference`` rows."""
    import numpy as np

    return {(row["platform"], row["score"]): (np.asarray(row["quantiles"], dtype=float),
                                              np.asarray(row["probabilities"], dtype=float), int(row["population"]))
            for row in reference_rows}


def share_at_or_below(values: FloatArray, quantiles: FloatArray, probabilities: FloatArray) -> FloatArray:
    """``p`` per value: the share of the reference at or below it, interpolated between quantiles.

    Equal quantiles (many KOLs with one value, or the few at the top that every tail probability lands on)
    count up to their last one, so the best value gets 1 and its rank from the top, ``n (1 - p)``, is 0.
    """
    import numpy as np

    i = np.clip(np.searchsorted(quantiles, values, side="right"), 1, len(quantiles) - 1)
    x0, x1, p0, p1 = quantiles[i - 1], quantiles[i], probabilities[i - 1], probabilities[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(x1 > x0, (values - x0) / (x1 - x0), 0.0)
    p = p0 + np.clip(fraction, 0.0, 1.0) * (p1 - p0)
    shares: FloatArray = np.where(values >= quantiles[-1], 1.0, np.where(values < quantiles[0], probabilities[0], p))
    return shares


def apply_scores(metrics: DataFrame, reference_rows: Iterable[Row | dict[str, Any]]) -> DataFrame:
    """Scores 0-100: each value's share below it in its platform's reference, tail-stretched; the trending
    floor 0 for inactive KOLs (no value)."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.functions import PandasUDFType, pandas_udf

    scales = reference_scales(reference_rows)

    def scorer(score: str) -> Callable[..., Column]:
        # explicit function type: this module's annotations are strings (PEP 563)
        def _score(platform: pd.Series, value: pd.Series) -> pd.Series:
            out = np.zeros(len(value))
            values = value.to_numpy(dtype=float, na_value=np.nan)
            for name in platform.unique():
                mask = (platform == name).to_numpy() & ~np.isnan(values)
                if (name, score) in scales and mask.any():
                    xp, probs, n = scales[(name, score)]
                    out[mask] = tail_stretched(share_at_or_below(values[mask], xp, probs), n)
            return pd.Series(np.round(np.clip(out, 0.0, 100.0), SCORE_DECIMALS))

        with warnings.catch_warnings():  # the explicit type is deliberate (see above)
            warnings.simplefilter("ignore", UserWarning)
            return pandas_udf(_score, "double", PandasUDFType.SCALAR)

    df = metrics
    for score, value in SCORED.items():
        df = df.withColumn(score, scorer(score)(F.col("platform"), F.col(value)))
    if "trust_score" not in df.columns:
        df = df.withColumn("trust_score", F.lit(None).cast("double"))
    trending, success, trust = F.col("trending_score"), F.col("success_score"), F.col("trust_score")
    # the formula is written once (core.scoring) for floats; Spark Columns share its arithmetic
    final = F.when(trust.isNull(), final_score(trending, success, None)).otherwise(  # type: ignore[arg-type]
        final_score(trending, success, trust))  # type: ignore[arg-type]
    return (
        df.withColumn("final_score", F.round(final, SCORE_DECIMALS))
        .withColumn("tier", tier_expr(F.col("followers_count")))
        .withColumn("computed_at", F.current_timestamp())
        .drop(*SCORED.values())
    )
