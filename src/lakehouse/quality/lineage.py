"""Lineage checks on Iceberg snapshots: each layer was built from the one below, and nothing fell through.

Each check reads a table as of a ref (the run's WAP branch, or ``main`` for
the nightly run) and names the broken link precisely: the table, snapshot,
partition and offsets involved.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.entities import Entity, entities
from lakehouse.core.names import GOLD_SUMMARY_TABLE, KAFKA_NEXT_OFFSETS, LINEAGE_UPSTREAM
from lakehouse.iceberg.bookkeeping import recorded_state
from lakehouse.iceberg.snapshots import (
    commits_between,
    data_snapshot_id,
    is_in_history,
    newest_json,
    summary,
    table_or_none,
)
from lakehouse.spark.tables import qualified, read_as_of, read_snapshot, run_snapshot_id

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyspark.sql import Row, SparkSession

TRACE_SAMPLE = 5


def upstream_of(catalog: Catalog, table: str, ref_snapshot: int | None) -> dict[str, int]:
    """``{upstream table: snapshot id}`` recorded by the commit that built ``ref_snapshot``."""
    upstream: dict[str, int] = newest_json(catalog.load_table(table), ref_snapshot, LINEAGE_UPSTREAM, {})
    return upstream


def silver_covers_bronze(entity: Entity, totals: dict[str, Any], bronze_rows: int, bronze_sid: int) -> CheckResult:
    return compare(f"lineage.silver_covers_bronze.{entity.name}", "silver", entity.silver_table,
                   int(totals.get("bronze-rows", 0)), bronze_rows,
                   details=f"Bronze rows processed into Silver since the last rebuild vs rows of "
                           f"{entity.bronze_table} at snapshot {bronze_sid}")


def silver_up_to_date(catalog: Catalog, entity: Entity, bronze_sid: int) -> CheckResult:
    """Bronze snapshots committed after the one Silver was built from: waiting for the next transform."""
    bronze = catalog.load_table(entity.bronze_table)
    current = bronze.current_snapshot()
    if current is not None and bronze_sid is not None and not is_in_history(bronze, bronze_sid, current.snapshot_id):
        return CheckResult(f"lineage.silver_up_to_date.{entity.name}", "silver", entity.silver_table, Status.FAIL,
                           bronze_sid, "an ancestor of Bronze main",
                           f"Silver was built from {entity.bronze_table} snapshot {bronze_sid}, which is not in "
                           f"the history of Bronze main ({current.snapshot_id})")
    pending = len([s for s in commits_between(bronze, bronze_sid, current.snapshot_id)
                   if KAFKA_NEXT_OFFSETS in summary(s)]) if current is not None else 0  # ingest commits only
    return CheckResult(f"lineage.silver_up_to_date.{entity.name}", "silver", entity.silver_table,
                       Status.PASS if pending == 0 else Status.WARN, pending, "== 0 pending Bronze snapshots",
                       f"{pending} Bronze commit(s) after snapshot {bronze_sid} not yet in Silver")


def gold_from_current_silver(spark: SparkSession, catalog: Catalog, branch: str | None) -> list[CheckResult]:
    """Gold was built from Silver as it is now: the same data snapshot (maintenance commits do not count)."""
    upstream = upstream_of(catalog, GOLD_SUMMARY_TABLE, run_snapshot_id(GOLD_SUMMARY_TABLE, branch))
    out = []
    for entity in entities().values():
        silver = table_or_none(catalog, entity.silver_table)  # none yet: no such events, Gold read none
        recorded = upstream.get(entity.silver_table)
        if recorded is not None and silver is not None and silver.snapshot_by_id(recorded) is not None:
            recorded = data_snapshot_id(silver, recorded)
        current = data_snapshot_id(silver, run_snapshot_id(entity.silver_table, branch)) if silver else None
        out.append(compare(f"lineage.gold_from_current_silver.{entity.name}", "gold", GOLD_SUMMARY_TABLE,
                           recorded, current,
                           details=f"Gold's recorded {entity.silver_table} data snapshot vs the current one"))
    return out


def bronze_offsets_contiguous(spark: SparkSession, catalog: Catalog, entity: Entity) -> CheckResult:
    """Per partition, Bronze offsets form one gap-free, duplicate-free run that is exactly its bookkeeping.

    The whole-table half of reconciliation, in Spark: for the current epoch each
    partition holds ``first .. next - 1`` of :class:`~lakehouse.core.offsets.BronzeState`,
    once each; earlier epochs (before a re-baseline) are gap-free and hold ``rows_before`` rows.
    """
    from pyspark.sql import functions as F

    state = recorded_state(catalog.load_table(entity.bronze_table))
    stats = spark.table(qualified(entity.bronze_table)).groupBy(
        F.coalesce("kafka_epoch", F.lit(0)).alias("epoch"), "kafka_partition").agg(
        F.min("kafka_offset").alias("lo"), F.max("kafka_offset").alias("hi"),
        F.count("*").alias("n"), F.countDistinct("kafka_offset").alias("distinct")).collect()
    broken = [_offsets_problem(spark, entity, s) for s in sorted(stats, key=lambda r: (r.epoch, r.kafka_partition))]
    current = {s.kafka_partition: s for s in stats if s.epoch == state.epoch}
    for p, nxt in sorted(state.next.items()):
        first, s = state.first.get(p, nxt), current.get(p)
        got = (s.lo, s.hi, s.n) if s is not None else (None, None, 0)
        if (nxt > first and got != (first, nxt - 1, nxt - first)) or (nxt == first and s is not None):
            broken.append(f"partition {p}: rows cover {got[0]}..{got[1]} ({got[2]} rows) but the bookkeeping "
                          f"records {first}..{nxt - 1} ({nxt - first}) consumed")
    earlier = sum(s.n for s in stats if s.epoch != state.epoch)
    if earlier != state.rows_before:
        broken.append(f"{earlier} rows of earlier epochs but the bookkeeping records {state.rows_before}")
    broken = [b for b in broken if b]
    covered = {str(s.kafka_partition): [s.lo, s.hi] for s in current.values()}
    return CheckResult(f"lineage.bronze_offsets_contiguous.{entity.name}", "bronze", entity.bronze_table,
                       Status.FAIL if broken else Status.PASS, len(broken), "== 0 broken partitions",
                       "; ".join(broken) if broken else f"epoch {state.epoch} offset ranges {json.dumps(covered)}")


def _offsets_problem(spark: SparkSession, entity: Entity, s: Row) -> str:
    """What is wrong with one (epoch, partition)'s offsets, naming the first gaps ('' when nothing)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if s.n != s.distinct:
        return f"partition {s.kafka_partition}: {s.n - s.distinct} duplicated offset(s)"
    if s.hi - s.lo + 1 == s.n:
        return ""
    w = Window.partitionBy("kafka_partition").orderBy("kafka_offset")
    gaps = (spark.table(qualified(entity.bronze_table))
            .where((F.col("kafka_partition") == s.kafka_partition) & (F.coalesce("kafka_epoch", F.lit(0)) == s.epoch))
            .select("kafka_offset", F.lag("kafka_offset").over(w).alias("prev"))
            .where("kafka_offset - prev > 1").orderBy("kafka_offset").limit(3).collect())
    where = ", ".join(f"{g.prev + 1}..{g.kafka_offset - 1}" for g in gaps)
    return (f"partition {s.kafka_partition}: {s.hi - s.lo + 1 - s.n} offset(s) missing in [{s.lo}, {s.hi}] "
            f"(first gaps {where})")


def bronze_records(spark: SparkSession, entity: Entity, bronze_sid: int | None,
                   coordinates: list[tuple[int, int]]) -> dict[tuple[int, int], Row]:
    """``{(partition, offset): Row(kol_id, platform)}`` of the Bronze records at ``coordinates``, in one read
    of the snapshot ``bronze_sid`` (offset bounds prune its files)."""
    from functools import reduce

    from pyspark.sql import functions as F

    if bronze_sid is None or not coordinates:
        return {}
    wanted = reduce(lambda a, b: a | b, [(F.col("kafka_partition") == p) & (F.col("kafka_offset") == o)
                                         for p, o in coordinates])
    payload = F.col("payload").cast("string")
    rows = (read_snapshot(spark, entity.bronze_table, bronze_sid).where(wanted)
            .select("kafka_partition", "kafka_offset", F.get_json_object(payload, "$.kol_id").alias("kol_id"),
                    F.get_json_object(payload, "$.platform").alias("platform")).collect())
    return {(r.kafka_partition, r.kafka_offset): r for r in rows}


def gold_rows_trace_to_bronze(spark: SparkSession, catalog: Catalog, branch: str | None, sample: int = TRACE_SAMPLE,
                              seed: int = 7) -> CheckResult:
    """Sampled Gold KOLs -> their Silver profile -> the Bronze Kafka record it was parsed from.

    The Bronze record is read at the snapshot Silver recorded as its upstream,
    at the Silver row's (partition, offset), and must carry the same KOL.
    """
    from pyspark.sql import functions as F

    entity = entities()["profiles"]
    check_id = "lineage.gold_row_traces_to_bronze"
    gold = read_as_of(spark, GOLD_SUMMARY_TABLE, branch)
    picked = gold.select("platform", "kol_id").orderBy(F.xxhash64("platform", "kol_id", F.lit(seed))).limit(sample)
    silver = read_as_of(spark, entity.silver_table, branch)
    silver_sid = run_snapshot_id(entity.silver_table, branch)
    bronze_sid = upstream_of(catalog, entity.silver_table, silver_sid).get(entity.bronze_table)
    traced = (picked.join(silver.select("platform", "kol_id", "kafka_partition", "kafka_offset"),
                          ["platform", "kol_id"], "left").collect())
    records = bronze_records(spark, entity, bronze_sid, [(r.kafka_partition, r.kafka_offset) for r in traced
                                                         if r.kafka_offset is not None])
    trail, broken = [], []
    for row in traced:
        who = f"gold {row.platform}/{row.kol_id}"
        if row.kafka_offset is None:
            broken.append(f"{who}: no row in {entity.silver_table} (snapshot {silver_sid})")
            continue
        coords = f"{entity.topic}[{row.kafka_partition}]@{row.kafka_offset}"
        hit = records.get((row.kafka_partition, row.kafka_offset))
        if hit is None:
            broken.append(f"{who} -> silver -> {coords}: no such record in {entity.bronze_table} "
                          f"(snapshot {bronze_sid})")
        elif ((hit.kol_id or "").strip(), (hit.platform or "").strip().lower()) != (row.kol_id, row.platform):
            broken.append(f"{who} -> {coords}: the Bronze record is {hit.platform}/{hit.kol_id}")
        else:
            trail.append(f"{row.platform}/{row.kol_id} -> {coords}")
    if not traced:
        return CheckResult(check_id, "gold", GOLD_SUMMARY_TABLE, Status.SKIP, 0, f"{sample} rows", "Gold is empty")
    return CheckResult(check_id, "gold", GOLD_SUMMARY_TABLE, Status.FAIL if broken else Status.PASS,
                       len(traced) - len(broken), f"== {len(traced)} traced",
                       "; ".join(broken) if broken else "; ".join(trail))
