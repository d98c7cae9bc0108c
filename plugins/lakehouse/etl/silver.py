"""Bronze -> Silver: parse, validate, normalize, deduplicate, upsert; quarantine the rest.

Every Bronze row ends in exactly one place: a Silver row (upserted), a
collapsed duplicate (counted), or ``silver.quarantine`` with a reason code.
Upserts are ``MERGE INTO`` keyed by the business key and keep the newest
event by (Kafka timestamp, offset), so re-runs and replays are idempotent.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from lakehouse.config import PLATFORMS
from lakehouse.etl.entities import ENTITIES, MAX_PAYLOAD_BYTES, QUARANTINE_TABLE, Entity
from lakehouse.etl.tables import (
    LINEAGE_OFFSETS,
    LINEAGE_UPSTREAM,
    TOTALS,
    create_table_like,
    lineage_properties,
    newest_property,
    snapshot_chain,
    snapshot_id,
)
from lakehouse.etl.wap import ensure_branch, writing_to
from lakehouse.ingest.bronze import SUMMARY_RANGES
from lakehouse.quality.results import DataBreach
from lakehouse.spark.commit import with_commit_properties


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



def classify(df, entity: Entity):
    """Add ``doc`` (typed struct) and ``reason`` (null when valid) to raw Bronze rows."""
    from pyspark.sql import functions as F

    raw = F.col("payload").cast("string")
    schema = entity.json_schema + ", _corrupt_record STRING"
    df = df.withColumn(
        "doc", F.from_json(raw, schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record"})
    )
    doc = F.col("doc")
    missing = None
    for name in entity.required:
        cond = doc[name].isNull() | (F.trim(doc[name]) == "")
        missing = cond if missing is None else missing | cond
    negative = None
    for name in entity.counts:
        cond = F.coalesce(doc[name], F.lit(0)) < 0
        negative = cond if negative is None else negative | cond
    reason = (
        F.when(F.length("payload") > MAX_PAYLOAD_BYTES, "oversized")
        .when(F.col("payload").isNull() | F.get_json_object(raw, "$").isNull(), "malformed_json")
        .when(doc["_corrupt_record"].isNotNull(), "bad_type")
        .when(missing, "missing_field")
        .when(~F.lower(F.trim(doc["platform"])).isin(*PLATFORMS), "unknown_platform")
        .when(negative, "negative_count")
    )
    return df.withColumn("reason", reason)


def normalize(df, entity: Entity):
    """Typed, trimmed, lower-cased, UTC Silver columns for valid rows."""
    from pyspark.sql import functions as F

    d = F.col("doc")
    ts = F.to_timestamp  # ISO-8601 with zone -> UTC timestamp (session time zone is UTC)
    common = [
        F.lower(F.trim(d["platform"])).alias("platform"),
        F.trim(d["kol_id"]).alias("kol_id"),
    ]
    if entity.name == "profiles":
        bio = F.coalesce(d["bio"], F.lit(""))
        cols = common + [
            F.lower(F.trim(d["username"])).alias("username"),
            F.trim(d["display_name"]).alias("display_name"),
            *(d[c].alias(c) for c in entity.counts),
            (d["favorites_count"] / F.greatest(d["followers_count"], F.lit(1))).alias("favorites_per_follower"),
            F.coalesce(d["verified"], F.lit(False)).alias("verified"),
            F.length(bio).alias("bio_length"),
            (F.length(F.trim(bio)) > 0).alias("has_bio"),
            (F.length(F.trim(F.coalesce(d["url"], F.lit("")))) > 0).alias("has_url"),
            (F.length(F.trim(F.coalesce(d["profile_image_url"], F.lit("")))) > 0).alias("has_profile_image"),
            ts(d["created_at"]).alias("created_at"),
            ts(d["updated_at"]).alias("updated_at"),
            F.greatest(
                F.datediff(F.coalesce(ts(d["updated_at"]), F.col("kafka_timestamp")), ts(d["created_at"])),
                F.lit(0),
            ).alias("account_age_days"),
        ]
    elif entity.name == "videos":
        cols = common + [
            F.trim(d["video_id"]).alias("video_id"),
            *(d[c].alias(c) for c in entity.counts),
            d["duration_s"].alias("duration_s"),
            ts(d["published_at"]).alias("published_at"),
        ]
    else:
        cols = common + [
            F.trim(d["comment_id"]).alias("comment_id"),
            F.trim(d["video_id"]).alias("video_id"),
            d["text"].alias("text"),
            d["likes"].alias("likes"),
            ts(d["created_at"]).alias("created_at"),
        ]
    lineage = [F.col("kafka_partition"), F.col("kafka_offset"), F.col("kafka_timestamp"), F.col("batch_id")]
    return df.select(*cols, *lineage)


def deduplicate(df, entity: Entity):
    """Keep the newest row per business key by (Kafka timestamp, offset)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*entity.key).orderBy(F.col("kafka_timestamp").desc_nulls_last(), F.col("kafka_offset").desc())
    return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def quarantine_rows(df, entity: Entity, run_id: str):
    from pyspark.sql import functions as F

    return df.where(F.col("reason").isNotNull()).select(
        F.lit(entity.bronze_table).alias("source_table"),
        F.col("topic"),
        F.col("kafka_partition"),
        F.col("kafka_offset"),
        F.col("kafka_key").cast("string").alias("kafka_key"),
        F.col("payload"),
        F.col("reason"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


def _increment_bounds(silver_table, entity: Entity, ref_snapshot: int | None,
                      full_rebuild: bool) -> tuple[int | None, dict]:
    """(last Bronze snapshot already in Silver, running totals) from Silver's snapshot summaries."""
    if full_rebuild or silver_table is None:
        return None, {}
    upstream = newest_property(silver_table, ref_snapshot, LINEAGE_UPSTREAM)
    totals = newest_property(silver_table, ref_snapshot, TOTALS)
    last = json.loads(upstream).get(entity.bronze_table) if upstream else None
    return last, (json.loads(totals) if totals else {})


def _bronze_bookkeeping(bronze_table, start: int | None, end: int | None) -> tuple[int, dict]:
    """Rows and Kafka offset ranges Bronze's snapshots in (start, end] say they appended."""
    rows, ranges = 0, {}
    for snap in snapshot_chain(bronze_table, end):
        if snap.snapshot_id == start:
            break
        props = snap.summary.additional_properties if snap.summary else {}
        rows += int(props.get("added-records", 0))
        for p, (first, last) in json.loads(props.get(SUMMARY_RANGES, "{}")).items():
            lo, hi = ranges.get(p, (first, last))
            ranges[p] = [min(lo, first), max(hi, last)]
    return rows, dict(sorted(ranges.items(), key=lambda kv: int(kv[0])))


def bronze_to_silver(spark, entity_name: str, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
                     full_rebuild: bool = False) -> SilverStats:
    """Process the Bronze snapshots Silver has not seen (all of them on a full rebuild) into Silver.

    With ``branch``, every write lands on that branch of the Silver tables (WAP).
    """
    from pyiceberg.exceptions import NoSuchTableError
    from pyspark.sql import functions as F

    from lakehouse.catalog import get_catalog

    started = time.monotonic()
    entity = ENTITIES[entity_name]
    catalog = get_catalog()
    bronze_now = snapshot_id(spark, entity.bronze_table)
    try:
        silver_meta = catalog.load_table(entity.silver_table)
    except NoSuchTableError:
        silver_meta = None
    ref = branch if branch and silver_meta is not None and branch in silver_meta.refs() else "main"
    ref_snapshot = silver_meta.refs()[ref].snapshot_id if silver_meta is not None and ref in silver_meta.refs() else None
    last, totals = _increment_bounds(silver_meta, entity, ref_snapshot, full_rebuild)
    mode = "full_rebuild" if full_rebuild else "incremental"
    if bronze_now is None or (last == bronze_now and not full_rebuild):
        return SilverStats(entity_name, "up_to_date", last, bronze_now, 0, 0, 0, 0, 0, 0, ref_snapshot,
                           round(time.monotonic() - started, 3))
    table = f"lake.{entity.bronze_table}"
    if last is None:
        bronze = spark.read.option("snapshot-id", bronze_now).table(table)
    else:  # Iceberg incremental read of the appends in (last, now]
        bronze = (spark.read.format("iceberg").option("start-snapshot-id", last)
                  .option("end-snapshot-id", bronze_now).load(table))
    expected_rows, offsets = _bronze_bookkeeping(catalog.load_table(entity.bronze_table), last, bronze_now)

    classified = classify(bronze, entity).cache()
    latest = None
    try:
        tally = classified.agg(F.count("*").alias("rows"), F.count("reason").alias("bad")).first()
        bronze_rows, quarantined = tally.rows, tally.bad
        if bronze_rows != expected_rows:  # before anything is written
            raise DataBreach(
                f"Bronze rows not accounted for: {entity_name} read {bronze_rows} rows from "
                f"{entity.bronze_table} ({last}, {bronze_now}] but its snapshots say they appended {expected_rows}"
            )
        valid_rows = bronze_rows - quarantined
        valid = normalize(classified.where("reason IS NULL"), entity)
        processed_at = datetime.now(UTC)
        latest = deduplicate(valid, entity).withColumn("processed_at", F.lit(processed_at)).cache()
        upserted = latest.count()
        quarantine = quarantine_rows(classified, entity, run_id)
        create_table_like(spark, entity.silver_table, latest)
        create_table_like(spark, QUARANTINE_TABLE, quarantine)
        for t in (entity.silver_table, QUARANTINE_TABLE):
            if branch:
                ensure_branch(spark, t, branch)
        with writing_to(spark, branch):
            if full_rebuild:
                spark.sql(f"DELETE FROM lake.{entity.silver_table}")
                spark.sql(f"DELETE FROM lake.{QUARANTINE_TABLE} WHERE source_table = '{entity.bronze_table}'")
            existing = (spark.table(f"lake.{entity.silver_table}").select(*entity.key)
                        .join(F.broadcast(latest.select(*entity.key)), list(entity.key), "left_semi").count())
            inserted = upserted - existing
            stats = {
                "bronze-rows": bronze_rows, "upserted": upserted, "inserted": inserted,
                # collapsed within the increment + merged into a key Silver already had
                "duplicates": (valid_rows - upserted) + (upserted - inserted), "quarantined": quarantined,
                "processed-at": processed_at.isoformat(),
            }
            new_totals = {k: int(totals.get(k, 0)) + int(stats[k]) for k in
                          ("bronze-rows", "inserted", "duplicates", "quarantined")}
            props = lineage_properties(
                dag_id, run_id, upstream={entity.bronze_table: bronze_now}, stats=stats,
                **{TOTALS: new_totals, LINEAGE_OFFSETS: {entity.bronze_table: offsets}},
            )
            latest.createOrReplaceTempView("silver_updates")
            quarantine.createOrReplaceTempView("quarantine_updates")
            on = " AND ".join(f"t.{k} = s.{k}" for k in entity.key)
            newer = (
                "(s.kafka_timestamp > t.kafka_timestamp OR "
                "(s.kafka_timestamp = t.kafka_timestamp AND s.kafka_offset > t.kafka_offset))"
            )
            # Quarantine first: the Silver commit carries the lineage marker that ends this
            # increment, so a crash in between makes the next run redo it (the MERGE dedups).
            if quarantined:
                with_commit_properties(spark, props, lambda: spark.sql(
                    f"MERGE INTO lake.{QUARANTINE_TABLE} t USING quarantine_updates s "
                    "ON t.source_table = s.source_table AND t.kafka_partition = s.kafka_partition "
                    "AND t.kafka_offset = s.kafka_offset WHEN NOT MATCHED THEN INSERT *"
                ))
            with_commit_properties(spark, props, lambda: spark.sql(
                f"MERGE INTO lake.{entity.silver_table} t USING silver_updates s ON {on} "
                f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            ))
    finally:
        classified.unpersist()
        if latest is not None:
            latest.unpersist()
    return SilverStats(
        entity=entity_name, mode=mode, bronze_from_snapshot=last, bronze_to_snapshot=bronze_now,
        bronze_rows=bronze_rows, bronze_rows_expected=expected_rows, upserted=upserted, inserted=inserted,
        duplicates=stats["duplicates"], quarantined=quarantined,
        silver_snapshot_id=snapshot_id(spark, entity.silver_table, branch or "main"),
        seconds=round(time.monotonic() - started, 3),
    )


def run(spark, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
        full_rebuild: bool = False, **_) -> dict:
    stats = [bronze_to_silver(spark, name, dag_id=dag_id, run_id=run_id, branch=branch, full_rebuild=full_rebuild)
             for name in ENTITIES]
    return {"entities": [asdict(s) for s in stats], "branch": branch,
            "seconds": round(sum(s.seconds for s in stats), 3)}
