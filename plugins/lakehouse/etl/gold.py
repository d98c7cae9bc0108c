"""Silver -> Gold ``kol_summary``: one row per KOL with metrics, tier and scores.

Scores (0-100):
- trending: where the KOL's recent engagement velocity (views + 10 x likes of
  the last 7 days, per day, relative to the newest video) falls in its
  platform's distribution, tie-broken by engagement rate so scores spread;
- success: where the KOL's engagement rate falls in its platform's distribution;
- trust: the champion trust model's score (``ml.model_registry``), 20-100;
- final = 0.40 x trending + 0.35 x success + 0.25 x trust. Before any model
  is champion, trust is null and the final score renormalizes the available
  weights: (0.40 x trending + 0.35 x success) / 0.75.

A new champion rescores every KOL (Gold records the model version it used,
``lineage.trust-model``; a different champion means a full run).

"Falls in the distribution" is read off a reference of 1,001 quantiles per
platform and score, fitted on a full rebuild and kept in
``gold.score_reference``. A full rebuild therefore scores every KOL by its
percentile; an incremental run recomputes only the KOLs whose Silver rows
changed since Gold's recorded watermark and scores them against the same
reference, so its cost follows the delta, not the table size.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass

from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE, SCORE_REFERENCE_TABLE
from lakehouse.etl.tables import (
    create_table_like,
    lineage_properties,
    newest_property,
    snapshot_chain,
    snapshot_id,
)
from lakehouse.etl.wap import effective_ref, ensure_branch, read_as_of, writing_to

WEIGHTS = {"trending": 0.40, "success": 0.35, "trust": 0.25}
TIERS = ((10_000, "nano"), (100_000, "micro"), (500_000, "mid"), (1_000_000, "macro"))
VELOCITY_WINDOW_DAYS = 7
QUANTILES = 1001
SILVER_WATERMARK = "lineage.silver-watermark"  # newest Silver processed_at that Gold reflects
SCORED = {"trending_score": "trending_value", "success_score": "success_value"}
TRUST_MODEL = "lineage.trust-model"  # champion version Gold's trust scores come from ("none" before any)


@dataclass
class GoldStats:
    mode: str  # full | incremental | up_to_date
    rows: int
    updated: int
    silver_kols: int | None
    upstream: dict
    gold_snapshot_id: int | None
    seconds: float


def tier_expr(followers):
    from pyspark.sql import functions as F

    expr = None
    for bound, name in TIERS:
        expr = F.when(followers < bound, name) if expr is None else expr.when(followers < bound, name)
    return expr.otherwise("mega")


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
    final = F.when(
        F.col("trust_score").isNull(),
        (WEIGHTS["trending"] * F.col("trending_score") + WEIGHTS["success"] * F.col("success_score"))
        / (WEIGHTS["trending"] + WEIGHTS["success"]),
    ).otherwise(
        WEIGHTS["trending"] * F.col("trending_score") + WEIGHTS["success"] * F.col("success_score")
        + WEIGHTS["trust"] * F.col("trust_score")
    )
    return (
        df.withColumn("final_score", F.round(final, 6))
        .withColumn("tier", tier_expr(F.col("followers_count")))
        .withColumn("computed_at", F.current_timestamp())
        .drop(*SCORED.values())
    )


# What Gold needs of a Silver table that does not exist yet (no such events so far).
EMPTY_SILVER = {
    "videos": "platform STRING, kol_id STRING, views BIGINT, likes BIGINT, comments BIGINT, shares BIGINT, "
              "published_at TIMESTAMP, processed_at TIMESTAMP",
    "comments": "platform STRING, kol_id STRING, likes BIGINT, processed_at TIMESTAMP",
}


def _silver_frames(spark, branch):
    upstream, frames = {}, {}
    for name, entity in ENTITIES.items():
        sid = snapshot_id(spark, entity.silver_table, effective_ref(spark, entity.silver_table, branch))
        if sid is None and name in EMPTY_SILVER:
            frames[name] = spark.createDataFrame([], EMPTY_SILVER[name])
            continue
        if sid is None:
            raise RuntimeError(f"{entity.silver_table} has no snapshot: run bronze_to_silver first")
        upstream[entity.silver_table] = sid
        frames[name] = spark.read.option("snapshot-id", sid).table(f"lake.{entity.silver_table}")
    return upstream, frames


def _trust_model_changed(branch, champion: dict | None) -> bool:
    """Is the champion another model than the one Gold's current scores come from?"""
    from lakehouse.catalog import get_catalog

    gold = get_catalog().load_table(GOLD_SUMMARY_TABLE)
    ref = branch if branch and branch in gold.refs() else "main"
    used = newest_property(gold, gold.refs()[ref].snapshot_id, TRUST_MODEL) or '"none"'
    return json.loads(used) != (champion["version"] if champion else "none")


def with_trust(spark, metrics, frames: dict, champion: dict | None):
    """``metrics`` plus ``trust_score`` and ``trust_model_version`` from the champion (nulls without one)."""
    from pyspark.sql import functions as F

    if champion is None:
        return (metrics.withColumn("trust_score", F.lit(None).cast("double"))
                .withColumn("trust_model_version", F.lit(None).cast("int")))
    from pyspark.ml import PipelineModel

    from lakehouse.ml.features import kol_features
    from lakehouse.ml.train import trust_score_column

    model = PipelineModel.load(champion["artifact_path"])
    scored = model.transform(kol_features(frames["profiles"], frames["videos"], frames["comments"]))
    trust = scored.select("platform", "kol_id", trust_score_column().alias("trust_score"))
    return (metrics.join(trust, ["platform", "kol_id"], "left")
            .withColumn("trust_model_version", F.lit(champion["version"]).cast("int")))


def _gold_state(spark, branch):
    """(watermark, reference rows, as_of) of the Gold this run builds on; Nones when there is none."""
    from lakehouse.catalog import get_catalog

    if not spark.catalog.tableExists(f"lake.{GOLD_SUMMARY_TABLE}") or not spark.catalog.tableExists(
            f"lake.{SCORE_REFERENCE_TABLE}"):
        return None, None, None
    gold = get_catalog().load_table(GOLD_SUMMARY_TABLE)
    ref = branch if branch and branch in gold.refs() else "main"
    watermark = newest_property(gold, gold.refs()[ref].snapshot_id, SILVER_WATERMARK)
    reference = read_as_of(spark, SCORE_REFERENCE_TABLE, branch).collect()
    if not watermark or not reference:
        return None, None, None
    state = json.loads(watermark)
    return state["processed_at"], reference, state["as_of"]


def silver_to_gold(spark, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                   full_rebuild: bool = False, **_) -> GoldStats:
    """Bring ``gold.kol_summary`` up to date with Silver as of ``branch`` (this run's Silver), on the branch."""
    from pyspark.sql import functions as F

    from lakehouse.ml.registry import current_champion

    started = time.monotonic()
    upstream, frames = _silver_frames(spark, branch)
    champion = current_champion()
    watermark, reference, as_of = (None, None, None) if full_rebuild else _gold_state(spark, branch)
    if reference is not None and _trust_model_changed(branch, champion):
        watermark, reference, as_of = None, None, None  # a new champion rescores every KOL
    new_watermark = _silver_processed_at(upstream)
    if reference is None:  # full: every KOL, and a freshly fitted score reference
        mode = "full"
        silver_kols = frames["profiles"].select("platform", "kol_id").distinct().count()
        as_of = frames["videos"].agg(F.max("published_at")).first()[0]
        metrics = with_trust(spark, build_metrics(frames["profiles"], frames["videos"], frames["comments"], as_of),
                             frames, champion).cache()
        reference_df = fit_reference(metrics, run_id).cache()
        reference = reference_df.collect()
        summary = apply_scores(metrics, reference)
    else:  # incremental: only KOLs with Silver rows processed after the watermark
        mode = "incremental"
        silver_kols = None  # not counted here: the audit compares Gold with Silver
        changed = None
        for df in frames.values():
            keys = df.where(F.col("processed_at") > F.lit(watermark).cast("timestamp")).select("platform", "kol_id")
            changed = keys if changed is None else changed.unionByName(keys)
        changed = changed.distinct().cache()
        if changed.count() == 0:
            changed.unpersist()
            return GoldStats("up_to_date", _count_gold(spark, branch), 0, silver_kols, upstream,
                             snapshot_id(spark, GOLD_SUMMARY_TABLE, branch or "main"),
                             round(time.monotonic() - started, 3))
        scoped = {n: df.join(F.broadcast(changed), ["platform", "kol_id"], "left_semi") for n, df in frames.items()}
        metrics = with_trust(spark, build_metrics(scoped["profiles"], scoped["videos"], scoped["comments"], as_of),
                             scoped, champion).cache()
        summary = apply_scores(metrics, reference)
    summary = summary.cache()
    updated = summary.count()
    create_table_like(spark, GOLD_SUMMARY_TABLE, summary)
    if mode == "full":
        create_table_like(spark, SCORE_REFERENCE_TABLE, reference_df)
    if branch:
        ensure_branch(spark, GOLD_SUMMARY_TABLE, branch)
        if mode == "full":
            ensure_branch(spark, SCORE_REFERENCE_TABLE, branch)
    props = lineage_properties(
        dag_id, run_id, upstream=upstream, stats={"mode": mode, "updated": updated, "silver-kols": silver_kols},
        **{SILVER_WATERMARK: {"processed_at": str(new_watermark or watermark), "as_of": str(as_of)},
           TRUST_MODEL: champion["version"] if champion else "none"},
    )
    with writing_to(spark, branch):
        if mode == "full":
            writer = summary.writeTo(f"lake.{GOLD_SUMMARY_TABLE}")
            for key, value in props.items():
                writer = writer.option(f"snapshot-property.{key}", value)
            writer.overwrite(F.lit(True))  # one atomic snapshot replacing the whole summary
            reference_df.writeTo(f"lake.{SCORE_REFERENCE_TABLE}").overwrite(F.lit(True))
        else:
            from lakehouse.spark.commit import with_commit_properties

            summary.createOrReplaceTempView("gold_updates")
            with_commit_properties(spark, props, lambda: spark.sql(
                f"MERGE INTO lake.{GOLD_SUMMARY_TABLE} t USING gold_updates s "
                "ON t.platform = s.platform AND t.kol_id = s.kol_id "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            ))
    for cached in (summary, metrics, reference_df if mode == "full" else changed):
        cached.unpersist()
    return GoldStats(mode, _count_gold(spark, branch), updated, silver_kols, upstream,
                     snapshot_id(spark, GOLD_SUMMARY_TABLE, branch or "main"), round(time.monotonic() - started, 3))


def _silver_processed_at(upstream: dict) -> str | None:
    """Newest ``processed-at`` the Silver snapshots Gold reads were written with (summary, no scan)."""
    from lakehouse.catalog import get_catalog
    from lakehouse.etl.tables import STATS

    catalog = get_catalog()
    stamps = []
    for table, sid in upstream.items():
        for snap in snapshot_chain(catalog.load_table(table), sid):
            stats = json.loads((snap.summary.additional_properties if snap.summary else {}).get(STATS, "{}"))
            if "processed-at" in stats:
                stamps.append(stats["processed-at"])
                break
    return max(stamps) if stamps else None


def _count_gold(spark, branch) -> int:
    return read_as_of(spark, GOLD_SUMMARY_TABLE, branch).count()


def run(spark, **kwargs) -> dict:
    return asdict(silver_to_gold(spark, **kwargs))
