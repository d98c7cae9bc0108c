"""Bronze -> Silver: parse, validate, normalize, deduplicate, upsert; quarantine the rest.

Every Bronze row ends in exactly one place: a Silver row (upserted), a
collapsed duplicate (counted), or ``silver.quarantine`` with a reason code.
Upserts are ``MERGE INTO`` keyed by the business key and keep the newest
event by (Kafka timestamp, offset), so re-runs and replays are idempotent.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from lakehouse.config import PLATFORMS
from lakehouse.etl.entities import ENTITIES, MAX_PAYLOAD_BYTES, QUARANTINE_TABLE, Entity
from lakehouse.etl.tables import create_table_like, lineage_properties, snapshot_id
from lakehouse.spark.commit import with_commit_properties


@dataclass
class SilverStats:
    entity: str
    bronze_rows: int
    upserted: int
    duplicates: int
    quarantined: int
    bronze_snapshot_id: int | None
    silver_snapshot_id: int | None
    seconds: float

    @property
    def balanced(self) -> bool:
        return self.bronze_rows == self.upserted + self.duplicates + self.quarantined


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


def bronze_to_silver(spark, entity_name: str, *, dag_id: str = "", run_id: str = "") -> SilverStats:
    started = time.monotonic()
    entity = ENTITIES[entity_name]
    bronze_snapshot = snapshot_id(spark, entity.bronze_table)
    bronze = spark.table(f"lake.{entity.bronze_table}")
    if bronze_snapshot is not None:
        bronze = spark.read.option("snapshot-id", bronze_snapshot).table(f"lake.{entity.bronze_table}")
    classified = classify(bronze, entity).cache()
    try:
        bronze_rows = classified.count()
        valid = normalize(classified.where("reason IS NULL"), entity)
        valid_rows = valid.count()
        latest = deduplicate(valid, entity).cache()
        upserted = latest.count()
        quarantine = quarantine_rows(classified, entity, run_id).cache()
        quarantined = quarantine.count()

        create_table_like(spark, entity.silver_table, latest)
        create_table_like(spark, QUARANTINE_TABLE, quarantine)
        props = lineage_properties(
            dag_id, run_id, upstream={entity.bronze_table: bronze_snapshot},
            stats={"bronze-rows": bronze_rows, "upserted": upserted, "duplicates": valid_rows - upserted,
                   "quarantined": quarantined},
        )
        latest.createOrReplaceTempView("silver_updates")
        quarantine.createOrReplaceTempView("quarantine_updates")
        on = " AND ".join(f"t.{k} = s.{k}" for k in entity.key)
        newer = (
            "(s.kafka_timestamp > t.kafka_timestamp OR "
            "(s.kafka_timestamp = t.kafka_timestamp AND s.kafka_offset > t.kafka_offset))"
        )
        with_commit_properties(spark, props, lambda: spark.sql(
            f"MERGE INTO lake.{entity.silver_table} t USING silver_updates s ON {on} "
            f"WHEN MATCHED AND {newer} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        ))
        if quarantined:
            with_commit_properties(spark, props, lambda: spark.sql(
                f"MERGE INTO lake.{QUARANTINE_TABLE} t USING quarantine_updates s "
                "ON t.source_table = s.source_table AND t.kafka_partition = s.kafka_partition "
                "AND t.kafka_offset = s.kafka_offset WHEN NOT MATCHED THEN INSERT *"
            ))
    finally:
        classified.unpersist()
    return SilverStats(
        entity=entity_name,
        bronze_rows=bronze_rows,
        upserted=upserted,
        duplicates=valid_rows - upserted,
        quarantined=quarantined,
        bronze_snapshot_id=bronze_snapshot,
        silver_snapshot_id=snapshot_id(spark, entity.silver_table),
        seconds=round(time.monotonic() - started, 3),
    )


def run(spark, *, dag_id: str = "", run_id: str = "") -> dict:
    stats = [bronze_to_silver(spark, name, dag_id=dag_id, run_id=run_id) for name in ENTITIES]
    return {"entities": [asdict(s) for s in stats], "seconds": round(sum(s.seconds for s in stats), 3)}
