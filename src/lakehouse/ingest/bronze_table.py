"""The Bronze table of a topic: raw Kafka records as bytes, and the offsets its commits recorded.

Each Bronze append is one Iceberg commit whose snapshot summary records the
offset range it consumed per partition (:data:`~lakehouse.core.names.KAFKA_RANGES`)
and the cumulative consumer position (:class:`~lakehouse.core.offsets.BronzeState`): first and next
offset per partition and the log they belong to. The data and its offsets
commit atomically, so the table is the truth a consumer resumes from, and the
newest commit alone is the whole bookkeeping: expiring older snapshots or
compacting files loses nothing a reader needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from lakehouse.core.names import bronze_table_name
from lakehouse.iceberg.catalog import NO_BLIND_RETRY, ensure_table

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

ARROW_SCHEMA = pa.schema([
    pa.field("topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_key", pa.binary()),
    pa.field("payload", pa.binary()),
    # null when the broker had none or it is outside what a timestamp can hold; the raw value is kept
    pa.field("kafka_timestamp", pa.timestamp("us", tz="UTC")),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
    pa.field("kafka_timestamp_ms", pa.int64()),  # the producer's CreateTime as sent
    pa.field("kafka_epoch", pa.int32()),  # which broker log the offsets belong to (+1 per re-baseline)
    # the erasure request that blanked key and payload ("ledger": refused at ingest); null: as received
    pa.field("erased_by", pa.string()),
])
ERASED_AT_INGEST = "ledger"


def ensure_bronze_table(catalog: Catalog, topic: str) -> Table:
    """Create the Bronze table for ``topic`` if missing (Bronze never parses: bytes in, bytes kept)."""
    table = ensure_table(catalog, bronze_table_name(topic), ARROW_SCHEMA, {
        # A concurrent writer must fail loudly, never be re-applied on top of
        # offsets it did not see (that would duplicate rows).
        **NO_BLIND_RETRY,
        "lakehouse.layer": "bronze",
        "lakehouse.source-topic": topic,
    })
    missing = [f.name for f in ARROW_SCHEMA if f.name not in table.schema().column_names]
    if missing:  # a table from before a column existed: add it (old rows read as null)
        with table.update_schema() as update:
            update.union_by_name(ARROW_SCHEMA)
        table = table.refresh()
    return table
