"""Silver -> Gold ``kol_summary``: one row per KOL with metrics, tier and scores (see :mod:`lakehouse.etl.scores`).

Two modes over shared steps:

- :func:`full_summary` scores every KOL and refits the score reference (first
  run, ``full_rebuild``, or a new trust champion: Gold records the model
  version it used, ``lineage.trust-model``);
- :func:`incremental_summary` recomputes only the KOLs whose Silver rows
  changed since Gold's recorded watermark and scores them against the same
  reference, so its cost follows the delta, not the table size. Unchanged KOLs
  keep their scores, so the scale drifts from what a refit would give as the
  platform changes: once the KOLs changed since the reference was fitted exceed
  ``score_refit_fraction`` (5 %) of its population, the run refits (full).

Trust scores come from a :class:`TrustSource` the caller provides (the Spark
job wires in the champion model), so this module knows nothing of training.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from lakehouse.config import get_settings
from lakehouse.core.entities import entities
from lakehouse.core.errors import MissingUpstreamError
from lakehouse.core.names import (
    GOLD_SUMMARY_TABLE,
    MAIN,
    SCORE_REFERENCE_TABLE,
    SILVER_WATERMARK,
    STATS,
    TRUST_MODEL,
    lineage_properties,
)
from lakehouse.etl.scores import apply_scores, build_metrics, fit_reference
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import (
    ancestry,
    live_rows,
    newest_json,
    ref_snapshot_id,
    run_ref,
    summary,
    table_or_none,
)
from lakehouse.spark.commit import with_commit_properties
from lakehouse.spark.phases import phase
from lakehouse.spark.tables import (
    cached_frames,
    create_table_like,
    ensure_branch,
    qualified,
    read_as_of,
    read_snapshot,
    run_snapshot_id,
    snapshot_id,
    writing_to,
)

if TYPE_CHECKING:  # Spark is imported where a job runs, not where this module is imported
    from pyspark.sql import DataFrame, Row, SparkSession

Frames = dict[str, "DataFrame"]  # Silver as a run reads it, by entity
Cache = Callable[["DataFrame"], "DataFrame"]  # caches a frame for the run (spark.tables.cached_frames)

KEY = ["platform", "kol_id"]
# What Gold needs of a Silver table that does not exist yet (no such events so far).
EMPTY_SILVER = {
    "videos": "platform STRING, kol_id STRING, views BIGINT, likes BIGINT, comments BIGINT, shares BIGINT, "
              "published_at TIMESTAMP, processed_at TIMESTAMP",
    "comments": "platform STRING, kol_id STRING, likes BIGINT, processed_at TIMESTAMP",
}


@dataclass(frozen=True)
class TrustSource:
    """Where trust scores come from: a model version and a function of the Silver frames, or neither."""

    version: int | None = None
    scores: Callable[[Frames], DataFrame] | None = None  # frames -> DataFrame(platform, kol_id, trust_score)

    @property
    def label(self) -> int | str:
        return self.version if self.version is not None else "none"


@dataclass
class GoldStats:
    mode: str  # full | incremental | up_to_date
    rows: int
    updated: int
    silver_kols: int | None
    upstream: dict[str, int]  # {silver table: snapshot id} this Gold was built from
    gold_snapshot_id: int | None
    seconds: float


@dataclass
class GoldState:
    """What the Gold this run builds on recorded: its Silver watermark, score reference and trust model."""

    processed_at: str
    as_of: str
    reference: list[Row]  # gold.score_reference as of the run
    trust_model: int | str  # the model version the scores used, or "none"
    changed_since_fit: int = 0  # KOLs rescored incrementally since the reference was fitted

    @property
    def population(self) -> int:
        """KOLs the reference was fitted on (every KOL has a success value)."""
        return sum(int(r["population"]) for r in self.reference if r["score"] == "success_score")

    def stale_with(self, changed: int, refit_fraction: float) -> bool:
        """Would rescoring ``changed`` more KOLs on this reference let it drift past ``refit_fraction``?"""
        return self.changed_since_fit + changed > refit_fraction * max(self.population, 1)


def silver_frames(spark: SparkSession, branch: str | None) -> tuple[dict[str, int], Frames]:
    """``({silver table: snapshot id}, {entity: DataFrame})`` of Silver as this run sees it."""
    upstream: dict[str, int] = {}
    frames: Frames = {}
    for name, entity in entities().items():
        sid = run_snapshot_id(entity.silver_table, branch)
        if sid is None and name in EMPTY_SILVER:
            frames[name] = spark.createDataFrame([], EMPTY_SILVER[name])
            continue
        if sid is None:
            raise MissingUpstreamError(f"{entity.silver_table} has no snapshot: run bronze_to_silver first")
        upstream[entity.silver_table] = sid
        frames[name] = read_snapshot(spark, entity.silver_table, sid)
    return upstream, frames


def gold_state(spark: SparkSession, branch: str | None) -> GoldState | None:
    """The state of the Gold this run builds on; None when there is none (then the run is full)."""
    gold = table_or_none(get_catalog(), GOLD_SUMMARY_TABLE)
    if gold is None or not spark.catalog.tableExists(qualified(SCORE_REFERENCE_TABLE)):
        return None
    head = ref_snapshot_id(gold, run_ref(gold, branch))
    watermark = newest_json(gold, head, SILVER_WATERMARK)
    reference = read_as_of(spark, SCORE_REFERENCE_TABLE, branch).collect()
    if not watermark or not reference or reference[0].asDict().get("population") is None:
        return None  # nothing to build on, or a reference of an older score scale: refit
    return GoldState(watermark["processed_at"], watermark["as_of"], reference,
                     newest_json(gold, head, TRUST_MODEL, "none"), int(watermark.get("changed_since_fit", 0)))


def with_trust(metrics: DataFrame, frames: Frames, trust: TrustSource) -> DataFrame:
    """``metrics`` plus ``trust_score`` and ``trust_model_version`` (nulls without a model)."""
    from pyspark.sql import functions as F

    if trust.scores is None:
        return (metrics.withColumn("trust_score", F.lit(None).cast("double"))
                .withColumn("trust_model_version", F.lit(None).cast("int")))
    return (metrics.join(trust.scores(frames), KEY, "left")
            .withColumn("trust_model_version", F.lit(trust.version).cast("int")))


def full_summary(frames: Frames, trust: TrustSource, run_id: str,
                 cache: Cache) -> tuple[DataFrame, DataFrame, datetime | None, int]:
    """Every KOL scored against a freshly fitted reference: ``(summary, reference_df, as_of, silver_kols)``."""
    from pyspark.sql import functions as F

    silver_kols = frames["profiles"].select(*KEY).distinct().count()
    [[as_of]] = frames["videos"].agg(F.max("published_at")).collect()
    metrics = cache(with_trust(build_metrics(frames["profiles"], frames["videos"], frames["comments"], as_of),
                               frames, trust))
    reference_df = cache(fit_reference(metrics, run_id))
    return apply_scores(metrics, reference_df.collect()), reference_df, as_of, silver_kols


def changed_kols(frames: Frames, processed_at: str, cache: Cache) -> tuple[DataFrame, int]:
    """``(keys, count)`` of the KOLs with Silver rows processed after ``processed_at`` (the watermark)."""
    from pyspark.sql import functions as F

    since = F.lit(processed_at).cast("timestamp")
    changed = functools.reduce(lambda a, b: a.unionByName(b),
                               (df.where(F.col("processed_at") > since).select(*KEY) for df in frames.values()))
    changed = cache(changed.distinct())
    return changed, changed.count()


def incremental_summary(frames: Frames, trust: TrustSource, state: GoldState, changed: DataFrame) -> DataFrame:
    """Only the ``changed`` KOLs, scored on the kept reference."""
    from pyspark.sql import functions as F

    scoped = {n: df.join(F.broadcast(changed), KEY, "left_semi") for n, df in frames.items()}
    metrics = with_trust(build_metrics(scoped["profiles"], scoped["videos"], scoped["comments"], state.as_of),
                         scoped, trust)
    return apply_scores(metrics, state.reference)


class Plan(NamedTuple):
    """What a Gold run writes: the KOLs' summary rows and, on a refit, the new score reference."""

    summary: DataFrame
    reference: DataFrame | None  # None: incremental, scored on the kept reference
    as_of: datetime | str | None  # the reference's newest video time (a timestamp, or as the watermark kept it)
    silver_kols: int | None  # KOLs in Silver, counted by a full run only
    changed_since_fit: int  # KOLs rescored since the reference was fitted (0 after a refit)


def summarize(frames: Frames, trust: TrustSource, state: GoldState | None, run_id: str, cache: Cache) -> Plan | None:
    """The run's :class:`Plan`; None when no KOL changed.

    Incremental on the kept scale unless that went stale (too many KOLs rescored since it was fitted):
    then the run refits, i.e. scores everything (full).
    """
    if state is not None:
        changed, n_changed = changed_kols(frames, state.processed_at, cache)
        if n_changed == 0:
            return None
        if not state.stale_with(n_changed, get_settings().score_refit_fraction):
            return Plan(cache(incremental_summary(frames, trust, state, changed)), None, state.as_of, None,
                        state.changed_since_fit + n_changed)
    summary_df, reference_df, as_of, silver_kols = full_summary(frames, trust, run_id, cache)
    return Plan(cache(summary_df), reference_df, as_of, silver_kols, 0)


def silver_to_gold(spark: SparkSession, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                   full_rebuild: bool = False, trust: TrustSource = TrustSource()) -> GoldStats:
    """Bring ``gold.kol_summary`` up to date with Silver as of ``branch`` (this run's Silver), on the branch."""
    started = time.monotonic()
    with phase("gold.plan"):
        upstream, frames = silver_frames(spark, branch)
        state = None if full_rebuild else gold_state(spark, branch)
    if state is not None and state.trust_model != trust.label:
        state = None  # a new champion rescores every KOL
    with cached_frames() as cache:
        with phase("gold.changed"):
            planned = summarize(frames, trust, state, run_id, cache)
        if planned is None:
            return GoldStats("up_to_date", _count_gold(branch), 0, None, upstream,
                             snapshot_id(spark, GOLD_SUMMARY_TABLE, branch or MAIN), _since(started))
        with phase("gold.score"):
            updated = planned.summary.count()
        mode = "full" if planned.reference is not None else "incremental"
        watermark = _silver_processed_at(upstream) or (state.processed_at if state else None)
        props = lineage_properties(
            dag_id, run_id, upstream=upstream,
            stats={"mode": mode, "updated": updated, "silver-kols": planned.silver_kols},
            **{SILVER_WATERMARK: {"processed_at": str(watermark), "as_of": str(planned.as_of),
                                  "changed_since_fit": planned.changed_since_fit}, TRUST_MODEL: trust.label},
        )
        with phase("gold.write"):
            write_gold(spark, planned.summary, planned.reference, props, branch)
    with phase("gold.result"):
        rows, head = _count_gold(branch), snapshot_id(spark, GOLD_SUMMARY_TABLE, branch or MAIN)
    return GoldStats(mode, rows, updated, planned.silver_kols, upstream, head, _since(started))


def write_gold(spark: SparkSession, summary_df: DataFrame, reference_df: DataFrame | None, props: dict[str, str],
               branch: str | None) -> None:
    """One snapshot replacing the whole summary (full, with its reference), or one MERGE (incremental)."""
    from pyspark.sql import functions as F

    tables = {GOLD_SUMMARY_TABLE: summary_df}
    if reference_df is not None:
        tables[SCORE_REFERENCE_TABLE] = reference_df
    for table, df in tables.items():
        create_table_like(spark, table, df)
        if branch:
            ensure_branch(spark, table, branch)
    with writing_to(spark, branch):
        if reference_df is None:
            summary_df.createOrReplaceTempView("gold_updates")
            with_commit_properties(spark, props, lambda: spark.sql(
                f"MERGE INTO {qualified(GOLD_SUMMARY_TABLE)} t USING gold_updates s "
                "ON t.platform = s.platform AND t.kol_id = s.kol_id "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"))
            return
        writer = summary_df.writeTo(qualified(GOLD_SUMMARY_TABLE))
        for key, value in props.items():
            writer = writer.option(f"snapshot-property.{key}", value)
        writer.overwrite(F.lit(True))
        reference_df.writeTo(qualified(SCORE_REFERENCE_TABLE)).overwrite(F.lit(True))


def _silver_processed_at(upstream: dict[str, int]) -> str | None:
    """Newest ``processed-at`` the Silver snapshots Gold reads were written with (summary, no scan)."""
    catalog = get_catalog()
    stamps = []
    for table, sid in upstream.items():
        for snap in ancestry(catalog.load_table(table), sid):
            stats = json.loads(summary(snap).get(STATS, "{}"))
            if "processed-at" in stats:
                stamps.append(stats["processed-at"])
                break
    return max(stamps) if stamps else None


def _count_gold(branch: str | None) -> int:
    """Gold's live rows as the run sees them, from the snapshot summary: a Spark count would scan every row."""
    gold = table_or_none(get_catalog(), GOLD_SUMMARY_TABLE)
    return live_rows(gold, ref_snapshot_id(gold, run_ref(gold, branch))) if gold is not None else 0


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
