"""Which snapshots table maintenance must keep: what bookkeeping and lineage still read.

Expiring snapshots by age alone would break the platform: Bronze's consumer
position lives in the newest ingest commit's summary, Silver's increment starts
at the Bronze snapshot its newest commit recorded as upstream (an incremental
read needs that snapshot and every one after it), and the lineage trace reads
Bronze as of that snapshot. Each is found here from the refs' newest commits,
so retention needs no history of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

from lakehouse.core.names import KAFKA_NEXT_OFFSETS, LINEAGE_UPSTREAM, TOTALS
from lakehouse.iceberg.snapshots import newest_json, newest_with, table_or_none

# Summary keys a reader takes from a ref's newest commit that has them.
BOOKKEEPING_KEYS = (KAFKA_NEXT_OFFSETS, LINEAGE_UPSTREAM, TOTALS)


def protected_snapshots(catalog: Catalog, tables: Iterable[str]) -> dict[str, set[int]]:
    """``{table: snapshot ids}`` that must survive expiry: per ref, the newest commit of each
    bookkeeping key, and every upstream snapshot a ref's newest lineage names."""
    keep: dict[str, set[int]] = defaultdict(set)
    for name in tables:
        table = table_or_none(catalog, name)
        if table is None:
            continue
        for ref in table.refs().values():
            for key in BOOKKEEPING_KEYS:
                snap = newest_with(table, ref.snapshot_id, key)
                if snap is not None:
                    keep[name].add(snap.snapshot_id)
            for upstream, snapshot_id in newest_json(table, ref.snapshot_id, LINEAGE_UPSTREAM, {}).items():
                keep[upstream].add(int(snapshot_id))
    return dict(keep)


def expire_before_ms(table: Table, protected: set[int], cutoff_ms: int) -> int:
    """The ``older_than`` for ``expire_snapshots``: the age cutoff, moved back to the oldest protected
    snapshot so it and everything after it stay (ancestry walks and incremental reads need them)."""
    stamps = [s.timestamp_ms for s in table.snapshots() if s.snapshot_id in protected]
    return min([cutoff_ms, *stamps])
