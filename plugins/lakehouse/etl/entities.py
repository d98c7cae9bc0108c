"""What each raw entity looks like: JSON schema, business key, required and count fields."""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.config import TOPICS, bronze_table_name

QUARANTINE_TABLE = "silver.quarantine"
GOLD_SUMMARY_TABLE = "gold.kol_summary"
SCORE_REFERENCE_TABLE = "gold.score_reference"
MAX_PAYLOAD_BYTES = 512 * 1024

# Reason codes, in the order they are tested (the first that applies is recorded).
REASONS = ("oversized", "malformed_json", "bad_type", "missing_field", "unknown_platform", "negative_count")


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


ENTITIES = {
    "profiles": Entity(
        "profiles",
        "silver.kol_profiles",
        "kol_id STRING, platform STRING, username STRING, display_name STRING, followers_count BIGINT, "
        "following_count BIGINT, post_count BIGINT, favorites_count BIGINT, verified BOOLEAN, bio STRING, "
        "url STRING, profile_image_url STRING, created_at STRING, updated_at STRING",
        key=("platform", "kol_id"),
        required=("kol_id", "platform", "username"),
        counts=("followers_count", "following_count", "post_count", "favorites_count"),
    ),
    "videos": Entity(
        "videos",
        "silver.kol_videos",
        "video_id STRING, kol_id STRING, platform STRING, views BIGINT, likes BIGINT, comments BIGINT, "
        "shares BIGINT, duration_s BIGINT, published_at STRING",
        key=("platform", "video_id"),
        required=("video_id", "kol_id", "platform"),
        counts=("views", "likes", "comments", "shares"),
    ),
    "comments": Entity(
        "comments",
        "silver.kol_comments",
        "comment_id STRING, video_id STRING, kol_id STRING, platform STRING, text STRING, likes BIGINT, "
        "created_at STRING",
        key=("platform", "comment_id"),
        required=("comment_id", "video_id", "kol_id", "platform"),
        counts=("likes",),
    ),
}
