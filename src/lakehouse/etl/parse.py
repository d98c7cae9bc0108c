"""Parsing raw Bronze records: classify (a reason code or valid), normalize, deduplicate, quarantine rows.

Pure DataFrame transformations with no reads or writes, so the Silver job
composes them and tests can call them on hand-made frames.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lakehouse.core.entities import MAX_CLOCK_SKEW_HOURS, MAX_PAYLOAD_BYTES, MIN_EVENT_TIME, Entity, Reason
from lakehouse.core.erasure import ErasedSubjects
from lakehouse.core.names import PLATFORMS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# A key's versions in log order: the broker log (epoch), then the offset within the key's partition
# (the partition only breaks ties between partitions). A producer's clock never decides.
LOG_ORDER = ("kafka_epoch", "kafka_offset", "kafka_partition")
# Where a Silver row came from, not what it says: every new version of a row has new values here.
LINEAGE_COLUMNS = ("kafka_partition", "kafka_offset", "kafka_timestamp", "batch_id", "kafka_epoch", "processed_at")


def classify(df: DataFrame, entity: Entity, erased: ErasedSubjects | None = None) -> DataFrame:
    """Add ``doc`` (typed struct) and ``reason`` (null when valid) to raw Bronze rows.

    First of all, a record of an erased subject (blanked in Bronze, or its subject in the ledger ``erased``)
    gets :attr:`Reason.ERASED_SUBJECT`: it is counted, never written to Silver or quarantine.
    """
    from pyspark.sql import functions as F

    if "erased_by" not in df.columns:  # a Bronze table from before erasure existed
        df = df.withColumn("erased_by", F.lit(None).cast("string"))
    raw = F.col("payload").cast("string")
    schema = entity.json_schema + ", _corrupt_record STRING"
    df = df.withColumn(
        "doc", F.from_json(raw, schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record"})
    )
    doc = F.col("doc")
    missing = _any_of(doc[name].isNull() | (F.trim(doc[name]) == "") for name in entity.required)
    negative = _any_of(F.coalesce(doc[name], F.lit(0)) < 0 for name in entity.counts)
    ts = F.col("kafka_timestamp")
    absurd_time = ((ts.isNull() & F.col("kafka_timestamp_ms").isNotNull())
                   | (ts < F.lit(MIN_EVENT_TIME).cast("timestamp"))
                   | (ts > F.col("ingested_at") + F.expr(f"INTERVAL {MAX_CLOCK_SKEW_HOURS} HOURS")))
    reason = (
        F.when(F.col("erased_by").isNotNull() | in_ledger(erased), Reason.ERASED_SUBJECT.value)
        .when(F.length("payload") > MAX_PAYLOAD_BYTES, Reason.OVERSIZED.value)
        .when(absurd_time, Reason.BAD_TIMESTAMP.value)
        .when(F.col("payload").isNull() | F.get_json_object(raw, "$").isNull(), Reason.MALFORMED_JSON.value)
        .when(doc["_corrupt_record"].isNotNull(), Reason.BAD_TYPE.value)
        .when(missing, Reason.MISSING_FIELD.value)
        .when(~F.lower(F.trim(doc["platform"])).isin(*PLATFORMS), Reason.UNKNOWN_PLATFORM.value)
        .when(negative, Reason.NEGATIVE_COUNT.value)
    )
    return df.withColumn("reason", reason)


def payload_subject_sql(payload: str = "payload") -> tuple[str, str]:
    """``(platform, kol_id)`` of raw payloads as Spark SQL, normalized as Silver does (the Spark twin of
    :func:`lakehouse.core.erasure.payload_subject`; an erasure's ``UPDATE``/``DELETE`` use the same text)."""
    raw = f"CAST({payload} AS STRING)"
    return (f"lower(trim(get_json_object({raw}, '$.platform')))", f"trim(get_json_object({raw}, '$.kol_id'))")


def payload_subject(payload: str = "payload") -> tuple[Column, Column]:
    """:func:`payload_subject_sql` as columns."""
    from pyspark.sql import functions as F

    platform, kol_id = payload_subject_sql(payload)
    return F.expr(platform), F.expr(kol_id)


def in_ledger(erased: ErasedSubjects | None, payload: str = "payload") -> Column:
    """Whether a raw record's subject is in the erasure ledger (its salted hash, as
    :func:`lakehouse.core.erasure.subject_hash` computes it); false without a ledger."""
    from pyspark.sql import functions as F

    if not erased:
        return F.lit(False)
    platform, kol_id = payload_subject(payload)
    hashed = F.sha2(F.concat_ws(":", F.lit(erased.salt), platform, kol_id), 256)
    return F.coalesce(platform.isNotNull() & kol_id.isNotNull() & hashed.isin(*sorted(erased.hashes)), F.lit(False))


def _any_of(conditions: Iterable[Column]) -> Column:
    """``c1 | c2 | ...`` (an entity names at least one required field and one count)."""
    return functools.reduce(operator.or_, conditions)


def normalize(df: DataFrame, entity: Entity) -> DataFrame:
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
    lineage = [F.col("kafka_partition"), F.col("kafka_offset"), F.col("kafka_timestamp"), F.col("batch_id"),
               F.coalesce(F.col("kafka_epoch"), F.lit(0)).alias("kafka_epoch")]
    return df.select(*cols, *lineage)


def deduplicate(df: DataFrame, entity: Entity) -> DataFrame:
    """Keep the newest row per business key by its place in the log (:data:`LOG_ORDER`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*entity.key).orderBy(*(F.col(c).desc() for c in LOG_ORDER))
    return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def business_keys(df: DataFrame, entity: Entity) -> DataFrame:
    """The business key of each raw record, parsed from its payload and normalized as Silver does.

    What "distinct Bronze keys" means: a producer may key Kafka messages by event
    id, or not at all, so the Kafka key says nothing about how many KOLs, videos
    or comments Bronze holds. Records whose key cannot be parsed are left out.
    """
    from pyspark.sql import functions as F

    doc = F.from_json(F.col("payload").cast("string"), entity.json_schema)
    cols = [(F.lower(F.trim(doc[k])) if k == "platform" else F.trim(doc[k])).alias(k) for k in entity.key]
    return df.select(*cols).dropna()


def quarantine_rows(df: DataFrame, entity: Entity, run_id: str) -> DataFrame:
    from pyspark.sql import functions as F

    return df.where(F.col("reason").isNotNull() & (F.col("reason") != Reason.ERASED_SUBJECT.value)).select(
        F.lit(entity.bronze_table).alias("source_table"),
        F.col("topic"),
        F.col("kafka_partition"),
        F.col("kafka_offset"),
        F.coalesce(F.col("kafka_epoch"), F.lit(0)).alias("kafka_epoch"),
        F.col("kafka_key").cast("string").alias("kafka_key"),
        F.col("payload"),
        F.col("reason"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )
