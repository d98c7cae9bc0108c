"""Bronze -> Silver: parse, validate, normalize, deduplicate, upsert; quarantine the rest.

Every Bronze row ends in exactly one place: a Silver row (upserted), a
collapsed duplicate (counted), ``silver.quarantine`` with a reason code, or
the ``erased`` count (a record of a subject erased on request: written nowhere).
Upserts are ``MERGE INTO`` keyed by the business key and keep the newest
event by its place in the log (epoch, offset), never by a producer's clock,
so re-runs and replays are idempotent and a wrong timestamp cannot freeze a key.

Which Bronze commits are new is read from Silver's own snapshot summaries
(the Bronze snapshot its newest commit covered), and the rows those commits
appended must equal the rows read before anything is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings
from lakehouse.core.entities import Entity, Reason, entities
from lakehouse.core.errors import DataBreach
from lakehouse.core.names import (
    CONTRACT_DRIFT,
    LINEAGE_OFFSETS,
    LINEAGE_UPSTREAM,
    MAIN,
    QUARANTINE_TABLE,
    TOTALS,
    lineage_properties,
)
from lakehouse.etl.drift import drift_findings, drifted, with_drift
from lakehouse.etl.parse import LOG_ORDER, classify, deduplicate, normalize, quarantine_rows
from lakehouse.iceberg.bookkeeping import recorded_state, total_rows
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.ledger import erased_subjects
from lakehouse.iceberg.snapshots import newest_json, ref_snapshot_id, run_ref, table_or_none
from lakehouse.spark.commit import with_commit_properties
from lakehouse.spark.phases import phase
from lakehouse.spark.tables import (
    create_table_like,
    ensure_branch,
    qualified,
    read_snapshot,
    snapshot_id,
    writing_to,
)

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyspark.sql import DataFrame, SparkSession

TOTAL_KEYS = ("bronze-rows", "inserted", "duplicates", "quarantined", "erased")
OffsetRanges = dict[str, list[int]]  # {partition: [first, last]} of Kafka offsets, as JSON keeps them


@dataclass
class SilverStats:
    """One entity's Bronze increment and where every row of it went."""

    entity: str
    mode: str  # incremental | full_rebuild | up_to_date
    bronze_from_snapshot: int | None  # exclusive
    bronze_to_snapshot: int | None  # inclusive
    bronze_rows: int  # rows read from Bronze this run
    bronze_rows_expected: int  # what Bronze's snapshot summaries say the increment holds
    upserted: int  # distinct keys merged
    inserted: int  # of those, keys new to Silver
    duplicates: int  # collapsed: within the increment, or into a key Silver already had
    quarantined: int
    silver_snapshot_id: int | None
    seconds: float
    kafka_offsets: OffsetRanges | None = None  # {partition: [first, last]} of the Bronze increment
    erased: int = 0  # records of erased subjects: counted, written nowhere


@dataclass(frozen=True)
class Tally:
    """What one pass over the Bronze increment counted, before anything is written."""

    rows: int  # records read
    bad: int  # of those, quarantined
    erased: int  # of those, records of erased subjects (written nowhere)
    processed_at: str  # the run's stamp on every Silver row (ISO), Gold's watermark
    drift: dict[str, Any]  # the contract drift report (JSON), kept in the Silver commit's summary


@dataclass
class Increment:
    """The Bronze commits (``after``, ``upto``] this run processes, and what they say they hold."""

    entity: Entity
    after: int | None  # last Bronze snapshot already in Silver (exclusive); None: from the start
    upto: int | None  # Bronze main now (inclusive)
    totals: dict[str, int]  # Silver's running totals so far
    silver_snapshot: int | None  # Silver as this run sees it
    expected_rows: int = 0
    offsets: OffsetRanges | None = None

    @property
    def empty(self) -> bool:
        return self.upto is None or self.after == self.upto


def plan_increment(entity: Entity, branch: str | None, full_rebuild: bool) -> Increment:
    """What Silver has not seen yet (everything on a full rebuild), from snapshot summaries only."""
    catalog = get_catalog()
    bronze = table_or_none(catalog, entity.bronze_table)
    silver = table_or_none(catalog, entity.silver_table)
    silver_snapshot = ref_snapshot_id(silver, run_ref(silver, branch))
    after, totals = None, {}
    if not full_rebuild and silver is not None:
        after = newest_json(silver, silver_snapshot, LINEAGE_UPSTREAM, {}).get(entity.bronze_table)
        totals = newest_json(silver, silver_snapshot, TOTALS, {})
    increment = Increment(entity, after, ref_snapshot_id(bronze, MAIN), totals, silver_snapshot)
    if bronze is not None and increment.upto is not None:
        increment.expected_rows, increment.offsets = bronze_bookkeeping(bronze, after, increment.upto)
    return increment


def bronze_bookkeeping(bronze_table: Table, after: int | None, upto: int) -> tuple[int, OffsetRanges]:
    """Rows and Kafka offset ranges Bronze's commits in (``after``, ``upto``] appended.

    From the two ends only, never the commits in between (which maintenance may
    have expired): Bronze only appends, so the rows are the difference of Iceberg's
    cumulative ``total-records`` (compaction keeps it), and the offsets run from
    ``after``'s next offsets to ``upto``'s (from the epoch's first after a re-baseline).
    """
    rows = total_rows(bronze_table, upto) - (total_rows(bronze_table, after) if after is not None else 0)
    end = recorded_state(bronze_table, upto)
    start = recorded_state(bronze_table, after) if after is not None else None
    ranges: OffsetRanges = {}
    for p, nxt in sorted(end.next.items()):
        lo = start.next.get(p, end.first.get(p)) if start is not None and start.epoch == end.epoch else end.first.get(p)
        if lo is not None and nxt > lo:
            ranges[str(p)] = [lo, nxt - 1]
    return rows, ranges


def read_increment(spark: SparkSession, inc: Increment) -> DataFrame:
    """The Bronze rows of the increment (an Iceberg incremental read of the appends after ``after``)."""
    if inc.upto is None:
        raise ValueError(f"{inc.entity.name}: an empty increment has no rows to read")
    if inc.after is None:
        return read_snapshot(spark, inc.entity.bronze_table, inc.upto)
    return (spark.read.format("iceberg").option("start-snapshot-id", inc.after)
            .option("end-snapshot-id", inc.upto).load(qualified(inc.entity.bronze_table)))


def check_bookkeeping(inc: Increment, bronze_rows: int) -> None:
    """Rows read == rows Bronze's commits appended; checked before anything is written."""
    if bronze_rows != inc.expected_rows:
        raise DataBreach(
            f"Bronze rows not accounted for: {inc.entity.name} read {bronze_rows} rows from "
            f"{inc.entity.bronze_table} ({inc.after}, {inc.upto}] but its snapshots say they appended "
            f"{inc.expected_rows}"
        )


def bronze_to_silver(spark: SparkSession, entity_name: str, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                     full_rebuild: bool = False) -> SilverStats:
    """Process the Bronze snapshots Silver has not seen (all of them on a full rebuild) into Silver.

    With ``branch``, every write lands on that branch of the Silver tables (WAP).
    """
    from pyspark.sql import functions as F

    started = time.monotonic()
    entity = entities()[entity_name]
    with phase("silver.plan"):
        inc = plan_increment(entity, branch, full_rebuild)
    if inc.empty:
        return SilverStats(entity=entity_name, mode="up_to_date", bronze_from_snapshot=inc.after,
                           bronze_to_snapshot=inc.upto, bronze_rows=0, bronze_rows_expected=0, upserted=0,
                           inserted=0, duplicates=0, quarantined=0, silver_snapshot_id=inc.silver_snapshot,
                           seconds=round(time.monotonic() - started, 3))
    ledger = erased_subjects(get_settings())
    classified = with_drift(classify(read_increment(spark, inc), entity, ledger), entity.contract).cache()
    latest = None
    try:
        with phase("silver.read"):
            erased = F.col("reason") == Reason.ERASED_SUBJECT.value
            [counted] = classified.agg(F.count("*").alias("rows"), F.count("reason").alias("flagged"),
                                       F.count(F.when(erased, 1)).alias("erased"),
                                       drifted().alias("drifted")).collect()
        check_bookkeeping(inc, counted.rows)  # before anything is written
        with phase("silver.drift"):
            drift = {"records": counted.rows, "findings": drift_findings(classified, counted.drifted)}
        processed_at = datetime.now(UTC)
        latest = (deduplicate(normalize(classified.where("reason IS NULL"), entity), entity)
                  .withColumn("processed_at", F.lit(processed_at)).cache())
        tally = Tally(counted.rows, counted.flagged - counted.erased, counted.erased, processed_at.isoformat(), drift)
        stats = write_silver(spark, inc, latest, quarantine_rows(classified, entity, run_id), tally,
                             dag_id=dag_id, run_id=run_id, branch=branch, full_rebuild=full_rebuild)
    finally:
        classified.unpersist()
        if latest is not None:
            latest.unpersist()
    return SilverStats(
        entity=entity_name, mode="full_rebuild" if full_rebuild else "incremental", bronze_from_snapshot=inc.after,
        bronze_to_snapshot=inc.upto, bronze_rows=tally.rows, bronze_rows_expected=inc.expected_rows,
        upserted=stats["upserted"], inserted=stats["inserted"], duplicates=stats["duplicates"],
        quarantined=tally.bad, silver_snapshot_id=snapshot_id(spark, entity.silver_table, branch or MAIN),
        seconds=round(time.monotonic() - started, 3), kafka_offsets=inc.offsets, erased=tally.erased,
    )


def write_silver(spark: SparkSession, inc: Increment, latest: DataFrame, quarantine: DataFrame, tally: Tally, *,
                 dag_id: str, run_id: str, branch: str | None, full_rebuild: bool) -> dict[str, Any]:
    """Quarantine, then Silver, each one MERGE on the run's branch; returns this run's stats."""
    entity = inc.entity
    with phase("silver.ddl"):
        create_table_like(spark, entity.silver_table, latest)
        create_table_like(spark, QUARANTINE_TABLE, quarantine)
        if branch:
            for table in (entity.silver_table, QUARANTINE_TABLE):
                ensure_branch(spark, table, branch)
    with writing_to(spark, branch):
        if full_rebuild:
            spark.sql(f"DELETE FROM {qualified(entity.silver_table)}")
            spark.sql(f"DELETE FROM {qualified(QUARANTINE_TABLE)} WHERE source_table = '{entity.bronze_table}'")
        with phase("silver.stats"):
            stats = increment_stats(spark, entity, latest, tally)
        totals = {k: int(inc.totals.get(k, 0)) + int(stats[k]) for k in TOTAL_KEYS}
        props = lineage_properties(dag_id, run_id, upstream={entity.bronze_table: inc.upto}, stats=stats,
                                   **{TOTALS: totals, LINEAGE_OFFSETS: {entity.bronze_table: inc.offsets},
                                      CONTRACT_DRIFT: tally.drift})
        # Quarantine first: the Silver commit carries the lineage marker that ends this
        # increment, so a crash in between makes the next run redo it (the MERGE dedups).
        if tally.bad:
            with phase("silver.merge_quarantine"):
                merge_quarantine(spark, quarantine, props)
        with phase("silver.merge"):
            merge_silver(spark, entity, latest, props)
    return stats


def increment_stats(spark: SparkSession, entity: Entity, latest: DataFrame, tally: Tally) -> dict[str, Any]:
    """Upserted, inserted (keys new to Silver), duplicates and quarantined of this increment: the JSON of the
    Silver commit's ``lakehouse.stats`` summary property."""
    from pyspark.sql import functions as F

    upserted = latest.count()
    existing = (spark.table(qualified(entity.silver_table)).select(*entity.key)
                .join(F.broadcast(latest.select(*entity.key)), list(entity.key), "left_semi").count())
    inserted = upserted - existing
    valid_rows = tally.rows - tally.bad - tally.erased
    return {
        "bronze-rows": tally.rows, "upserted": upserted, "inserted": inserted,
        # collapsed within the increment + merged into a key Silver already had
        "duplicates": (valid_rows - upserted) + (upserted - inserted), "quarantined": tally.bad,
        "erased": tally.erased,
        "processed-at": tally.processed_at,
    }


def merge_quarantine(spark: SparkSession, quarantine: DataFrame, props: dict[str, str]) -> None:
    quarantine.createOrReplaceTempView("quarantine_updates")
    with_commit_properties(spark, props, lambda: spark.sql(
        f"MERGE INTO {qualified(QUARANTINE_TABLE)} t USING quarantine_updates s "
        "ON t.source_table = s.source_table AND t.kafka_partition = s.kafka_partition "
        "AND t.kafka_offset = s.kafka_offset AND t.kafka_epoch <=> s.kafka_epoch WHEN NOT MATCHED THEN INSERT *"
    ))


def merge_silver(spark: SparkSession, entity: Entity, latest: DataFrame, props: dict[str, str]) -> None:
    """Upsert by business key; an existing row is replaced only by a later event in the log (see :data:`LOG_ORDER`)."""
    latest.createOrReplaceTempView("silver_updates")
    on = " AND ".join(f"t.{k} = s.{k}" for k in entity.key)
    newer = f"struct({', '.join(f's.{c}' for c in LOG_ORDER)}) > struct({', '.join(f't.{c}' for c in LOG_ORDER)})"
    with_commit_properties(spark, props, lambda: spark.sql(
        f"MERGE INTO {qualified(entity.silver_table)} t USING silver_updates s ON {on} "
        f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    ))
