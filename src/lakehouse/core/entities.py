"""What each raw entity looks like: JSON schema, business key, required and count fields; quarantine reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lakehouse.core.names import (
    BRONZE_TABLES,
    CHECK_RESULTS_TABLE,
    GOLD_SUMMARY_TABLE,
    LABELS_TABLE,
    QUARANTINE_TABLE,
    REGISTRY_TABLE,
    SCORE_REFERENCE_TABLE,
    TOPICS,
    bronze_table_name,
)

MAX_PAYLOAD_BYTES = 512 * 1024
# A Kafka CreateTime outside [MIN_EVENT_TIME, ingestion + MAX_CLOCK_SKEW_HOURS] is an absurd event time.
MIN_EVENT_TIME = "2000-01-01 00:00:00"
MAX_CLOCK_SKEW_HOURS = 24


class Reason(StrEnum):
    """Why a Bronze record went to ``silver.quarantine``, in the order they are tested (first match wins)."""

    OVERSIZED = "oversized"
    BAD_TIMESTAMP = "bad_timestamp"  # CreateTime unrepresentable, before 2000 or > 24 h after ingestion
    MALFORMED_JSON = "malformed_json"
    BAD_TYPE = "bad_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_PLATFORM = "unknown_platform"
    NEGATIVE_COUNT = "negative_count"



@dataclass(frozen=True)
class Entity:
    name: str
    silver_table: str
    json_schema: str  # Spark DDL of the raw JSON document
    key: tuple[str, ...]
    required: tuple[str, ...]
    counts: tuple[str, ...]

    @property
    def topic(self) -> str:
        return TOPICS[self.name]

    @property
    def bronze_table(self) -> str:
        return bronze_table_name(self.topic)


ENTITIES = {e.name: e for e in (
    Entity("profiles", "silver.kol_profiles",
           "kol_id STRING, platform STRING, username STRING, display_name STRING, followers_count BIGINT, "
           "following_count BIGINT, post_count BIGINT, favorites_count BIGINT, verified BOOLEAN, bio STRING, "
           "url STRING, profile_image_url STRING, created_at STRING, updated_at STRING",
           key=("platform", "kol_id"), required=("kol_id", "platform", "username"),
           counts=("followers_count", "following_count", "post_count", "favorites_count")),
    Entity("videos", "silver.kol_videos",
           "video_id STRING, kol_id STRING, platform STRING, views BIGINT, likes BIGINT, comments BIGINT, "
           "shares BIGINT, duration_s BIGINT, published_at STRING",
           key=("platform", "video_id"), required=("video_id", "kol_id", "platform"),
           counts=("views", "likes", "comments", "shares")),
    Entity("comments", "silver.kol_comments",
           "comment_id STRING, video_id STRING, kol_id STRING, platform STRING, text STRING, likes BIGINT, "
           "created_at STRING",
           key=("platform", "comment_id"), required=("comment_id", "video_id", "kol_id", "platform"),
           counts=("likes",)),
)}

SILVER_TABLES = tuple(e.silver_table for e in ENTITIES.values())
# Every table a transform run writes on its WAP branch (and publishes together).
WAP_TABLES = (*SILVER_TABLES, QUARANTINE_TABLE, GOLD_SUMMARY_TABLE, SCORE_REFERENCE_TABLE)
# Written by Spark MERGE/UPDATE as merge-on-read: their delete files need rewriting.
MERGE_ON_READ_TABLES = WAP_TABLES
# Every table kol_lake_maintenance looks after.
MAINTAINED_TABLES = (*BRONZE_TABLES.values(), *WAP_TABLES, LABELS_TABLE, REGISTRY_TABLE, CHECK_RESULTS_TABLE)
