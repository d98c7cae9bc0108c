"""Quarantine replay: records quarantined for a reason that has since been fixed go through Silver again.

When the cause of a quarantine is fixed upstream of Silver (a contract no longer requires a field, the
parser learns a format, a threshold was wrong), the selected ``silver.quarantine`` rows are re-read from
Bronze — the record of truth, by their Kafka coordinates — and classified, normalized, deduplicated and
merged by the same functions as any increment (:mod:`lakehouse.etl.parse`,
:func:`lakehouse.etl.silver.merge_silver`): there is no second parser. On the run's WAP branch:

- a record now valid leaves the quarantine and is merged into Silver (a newer version of its key already in
  Silver wins, as always: it then counts as a duplicate);
- a record still bad stays, with its reason updated when the reason changed;
- a record of a subject erased since is left alone and counted (the erasure removes quarantine rows itself:
  one found here means that erasure has to run again).

One commit per table. Silver's running totals move with it (``quarantined`` down by what left, ``inserted``
and ``duplicates`` up by where it went), so ``bronze = silver + duplicates + quarantined + erased`` stays
exact, and both commits name the quarantine snapshot the replay read (``lineage.replayed-from``). The run's
branch is made afresh from ``main`` first, so a retried job starts over instead of replaying twice. A second
replay of the same selection finds nothing to move and commits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings
from lakehouse.core.entities import QUARANTINE_REASONS, Entity, Reason, entities
from lakehouse.core.names import (
    LINEAGE_REPLAYED_FROM,
    LINEAGE_UPSTREAM,
    QUARANTINE_TABLE,
    TOTALS,
    lineage_properties,
)
from lakehouse.etl.parse import classify, deduplicate, normalize
from lakehouse.etl.silver import TOTAL_KEYS, Tally, increment_stats, merge_silver
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.ledger import erased_subjects
from lakehouse.iceberg.snapshots import newest_json, ref_snapshot_id, run_ref, table_or_none
from lakehouse.spark.commit import with_commit_properties
from lakehouse.spark.phases import phase
from lakehouse.spark.tables import ensure_branch, qualified, read_snapshot, writing_to

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

COORDINATES = ("kafka_partition", "kafka_offset", "kafka_epoch")


@dataclass(frozen=True)
class Selection:
    """Which quarantined records to replay: their reason codes, optionally quarantined within a window."""

    reasons: tuple[str, ...]
    since: str | None = None  # ISO timestamps on ``quarantined_at``, inclusive
    until: str | None = None

    def sql(self, source_table: str) -> str:
        """The ``WHERE`` clause over ``silver.quarantine`` (values checked: reason codes, ISO times)."""
        if not self.reasons or set(self.reasons) - set(QUARANTINE_REASONS):
            raise ValueError(f"reasons must be among {list(QUARANTINE_REASONS)}: {list(self.reasons)}")
        terms = [f"source_table = '{source_table}'", "reason IN (" + ", ".join(f"'{r}'" for r in self.reasons) + ")"]
        for op, stamp in ((">=", self.since), ("<=", self.until)):
            if stamp:
                terms.append(f"quarantined_at {op} TIMESTAMP '{datetime.fromisoformat(stamp).isoformat()}'")
        return " AND ".join(terms)


@dataclass
class ReplayStats:
    """One entity's replay: what was selected and where each record went, per reason it had."""

    entity: str
    selected: int = 0
    moved: int = 0  # left the quarantine (to Silver, as a duplicate, or erased)
    upserted: int = 0
    inserted: int = 0
    duplicates: int = 0
    erased: int = 0
    reason_changed: int = 0
    still_bad: int = 0
    by_reason: dict[str, dict[str, int]] = field(default_factory=dict)  # old reason -> {selected, would_move}
    quarantine_snapshot_id: int | None = None
    dry_run: bool = False


def replay_entity(spark: SparkSession, entity_name: str, selection: Selection, *, dag_id: str = "",
                  run_id: str = "", branch: str | None = None, dry_run: bool = False) -> ReplayStats:
    """Replay ``entity_name``'s quarantined records that ``selection`` names, on ``branch``."""
    entity = entities()[entity_name]
    stats = ReplayStats(entity_name, dry_run=dry_run)
    catalog = get_catalog()
    quarantine = table_or_none(catalog, QUARANTINE_TABLE)
    silver = table_or_none(catalog, entity.silver_table)
    if quarantine is None or silver is None:
        return stats
    stats.quarantine_snapshot_id = ref_snapshot_id(quarantine, run_ref(quarantine, branch))
    if stats.quarantine_snapshot_id is None:
        return stats
    with phase("replay.classify"):
        classified = reclassified(spark, entity, selection, stats.quarantine_snapshot_id).cache()
    try:
        count_outcomes(classified, stats)
        if dry_run or not stats.selected:
            return stats
        write_replay(spark, entity, classified, stats, dag_id=dag_id, run_id=run_id, branch=branch)
    finally:
        classified.unpersist()
    return stats


def reclassified(spark: SparkSession, entity: Entity, selection: Selection, quarantine_snapshot: int) -> DataFrame:
    """The selected records' Bronze rows (by Kafka coordinates), classified again with today's contract and
    ledger; ``old_reason`` is the reason they were quarantined with."""
    from pyspark.sql import functions as F

    picked = (read_snapshot(spark, QUARANTINE_TABLE, quarantine_snapshot).where(selection.sql(entity.bronze_table))
              .select(*COORDINATES, F.col("reason").alias("old_reason")))
    bronze = spark.table(qualified(entity.bronze_table)).withColumn("kafka_epoch", F.coalesce("kafka_epoch", F.lit(0)))
    rows = bronze.join(picked, list(COORDINATES), "inner")
    return classify(rows, entity, erased_subjects(get_settings()))


def count_outcomes(classified: DataFrame, stats: ReplayStats) -> None:
    """Per old reason: how many were selected and how many would leave the quarantine (now valid)."""
    from pyspark.sql import functions as F

    erased = F.col("reason") == Reason.ERASED_SUBJECT.value
    rows = classified.groupBy("old_reason").agg(
        F.count("*").alias("selected"), F.count(F.when(F.col("reason").isNull(), 1)).alias("would_move"),
        F.count(F.when(erased, 1)).alias("erased"),
        F.count(F.when(F.col("reason").isNotNull() & (F.col("reason") != F.col("old_reason")) & ~erased, 1))
        .alias("changed")).collect()
    stats.by_reason = {r.old_reason: {"selected": r.selected, "would_move": r.would_move} for r in rows}
    stats.selected = sum(r.selected for r in rows)
    stats.moved = sum(r.would_move for r in rows)
    stats.erased = sum(r.erased for r in rows)
    stats.reason_changed = sum(r.changed for r in rows)
    stats.still_bad = stats.selected - stats.moved


def write_replay(spark: SparkSession, entity: Entity, classified: DataFrame, stats: ReplayStats, *, dag_id: str,
                 run_id: str, branch: str | None) -> None:
    """Silver, then the quarantine, on the run's branch (made afresh by :func:`replay_quarantine`)."""
    from pyspark.sql import functions as F

    latest = (deduplicate(normalize(classified.where(F.col("reason").isNull()), entity), entity)
              .withColumn("processed_at", F.lit(datetime.now(UTC))).cache())
    try:
        with writing_to(spark, branch):
            if stats.moved:
                counted = increment_stats(spark, entity, latest, Tally(stats.moved, 0, 0, "", {}))
                stats.upserted, stats.inserted = int(counted["upserted"]), int(counted["inserted"])
                stats.duplicates = int(counted["duplicates"])
            props = replay_properties(entity, stats, dag_id, run_id, branch)  # before either commit
            if stats.moved:
                with phase("replay.merge_silver"):
                    merge_silver(spark, entity, latest, props)
            if stats.moved or stats.reason_changed:
                with phase("replay.quarantine"):
                    settle_quarantine(spark, entity, classified, props)
    finally:
        latest.unpersist()


def fresh_branch(spark: SparkSession, table: str, branch: str) -> None:
    """``branch`` of ``table`` at ``main``'s head, whatever an earlier try of this run left on it."""
    spark.sql(f"ALTER TABLE {qualified(table)} DROP BRANCH IF EXISTS `{branch}`")
    ensure_branch(spark, table, branch)


def replay_properties(entity: Entity, stats: ReplayStats, dag_id: str, run_id: str,
                      branch: str | None) -> dict[str, str]:
    """The commits' summary: Silver's totals moved by this replay, its upstream Bronze snapshot unchanged,
    and the quarantine snapshot the replay read."""
    silver = table_or_none(get_catalog(), entity.silver_table)
    head = ref_snapshot_id(silver, run_ref(silver, branch)) if silver is not None else None
    totals = dict(newest_json(silver, head, TOTALS, {})) if silver is not None else {}
    moved = {"quarantined": -stats.moved, "inserted": stats.inserted, "duplicates": stats.duplicates}
    totals = {k: int(totals.get(k, 0)) + moved.get(k, 0) for k in TOTAL_KEYS}
    upstream = newest_json(silver, head, LINEAGE_UPSTREAM, {}) if silver is not None else {}
    return lineage_properties(dag_id, run_id, upstream=upstream, stats=replay_summary(stats),
                              **{TOTALS: totals, LINEAGE_REPLAYED_FROM: {QUARANTINE_TABLE: stats.quarantine_snapshot_id}})


def replay_summary(stats: ReplayStats) -> dict[str, Any]:  # Any: the numbers of the replay
    return {"replayed": stats.selected, "moved": stats.moved, "upserted": stats.upserted,
            "inserted": stats.inserted, "duplicates": stats.duplicates, "reason-changed": stats.reason_changed,
            "erased-in-quarantine": stats.erased}


def settle_quarantine(spark: SparkSession, entity: Entity, classified: DataFrame, props: dict[str, str]) -> None:
    """One MERGE: records now valid are deleted, records whose reason changed get the new one (a record of an
    erased subject is left as it is)."""
    from pyspark.sql import functions as F

    classified.select(*COORDINATES, F.col("reason").alias("new_reason")).createOrReplaceTempView("replayed")
    on = " AND ".join(f"t.{c} = s.{c}" for c in COORDINATES)
    with_commit_properties(spark, props, lambda: spark.sql(
        f"MERGE INTO {qualified(QUARANTINE_TABLE)} t USING replayed s "
        f"ON t.source_table = '{entity.bronze_table}' AND {on} "
        "WHEN MATCHED AND s.new_reason IS NULL THEN DELETE "
        f"WHEN MATCHED AND s.new_reason <> t.reason AND s.new_reason <> '{Reason.ERASED_SUBJECT.value}' "
        "THEN UPDATE SET reason = s.new_reason"))


def replay_quarantine(spark: SparkSession, selection: Selection, *, dag_id: str = "", run_id: str = "",
                      branch: str | None = None, dry_run: bool = False) -> list[ReplayStats]:
    """:func:`replay_entity` for every entity, on ``branch`` made afresh from ``main`` first: a retried job
    starts over instead of replaying twice."""
    if branch and not dry_run:
        catalog = get_catalog()
        for table in (*(e.silver_table for e in entities().values()), QUARANTINE_TABLE):
            if table_or_none(catalog, table) is not None:
                fresh_branch(spark, table, branch)
    return [replay_entity(spark, name, selection, dag_id=dag_id, run_id=run_id, branch=branch, dry_run=dry_run)
            for name in entities()]
