"""The Bronze table of a topic: raw Kafka records as bytes, and the offsets its commits recorded.

Each Bronze append is one Iceberg commit whose snapshot summary records the
offset range it consumed per partition (:data:`~lakehouse.core.names.KAFKA_RANGES`)
and the cumulative next offset per partition (:data:`~lakehouse.core.names.KAFKA_NEXT_OFFSETS`).
The data and its offsets commit atomically, so the table is the truth a
consumer resumes from.
"""

from __future__ import annotations

import json

import pyarrow as pa

from lakehouse.core.names import KAFKA_NEXT_OFFSETS, bronze_table_name
from lakehouse.iceberg.catalog import ensure_table
from lakehouse.iceberg.snapshots import newest_property

ARROW_SCHEMA = pa.schema([
    pa.field("topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_key", pa.binary()),
    pa.field("payload", pa.binary()),
    pa.field("kafka_timestamp", pa.timestamp("us", tz="UTC")),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
])


def ensure_bronze_table(catalog, topic: str):
    """Create the Bronze table for ``topic`` if missing (Bronze never parses: bytes in, bytes kept)."""
    return ensure_table(catalog, bronze_table_name(topic), ARROW_SCHEMA, {
        # A concurrent writer must fail loudly, never be re-applied on top of
        # offsets it did not see (that would duplicate rows).
        "commit.retry.num-retries": "0",
        "lakehouse.layer": "bronze",
        "lakehouse.source-topic": topic,
    })


def recorded_offsets(table) -> dict[int, int]:
    """Next offset to consume per partition, as recorded by the newest ingest snapshot."""
    snapshot = table.current_snapshot()
    raw = newest_property(table, snapshot.snapshot_id if snapshot else None, KAFKA_NEXT_OFFSETS)
    return {int(p): int(o) for p, o in json.loads(raw).items()} if raw else {}
