"""Bronze's offset bookkeeping, read from the newest commit that recorded it (never the whole history)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table

from lakehouse.core.names import KAFKA_NEXT_OFFSETS, TOTAL_RECORDS
from lakehouse.core.offsets import BronzeState
from lakehouse.iceberg.snapshots import newest_with, summary


def recorded_state(table: Table, snapshot_id: int | None = None) -> BronzeState:
    """The bookkeeping as of ``snapshot_id`` (default: ``main``): the newest ingest commit's record."""
    if snapshot_id is None:
        current = table.current_snapshot()
        snapshot_id = current.snapshot_id if current is not None else None
    return BronzeState.from_summary(summary(newest_with(table, snapshot_id, KAFKA_NEXT_OFFSETS)))


def total_rows(table: Table, snapshot_id: int | None = None) -> int:
    """Rows of Bronze at ``snapshot_id`` (default: ``main``), from Iceberg's own cumulative ``total-records``."""
    snap = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else table.current_snapshot()
    return int(summary(snap).get(TOTAL_RECORDS, 0))
