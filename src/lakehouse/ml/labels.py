"""``ml.kol_labels``: ground truth for the trust model (authentic / bot per KOL).

Fed by datagen here; in production it would be a curated labeling table. A
KOL labeled again keeps one row (the newest label), so re-running a producer
never duplicates labels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.config import Settings
from lakehouse.core.names import LABELS_TABLE
from lakehouse.iceberg.catalog import ensure_table, get_catalog

if TYPE_CHECKING:
    from pyiceberg.table import Table

LABELS = ("authentic", "bot")
SCHEMA = pa.schema([
    pa.field("platform", pa.string(), nullable=False),
    pa.field("kol_id", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("labeled_at", pa.timestamp("us", tz="UTC")),
])


def labels_table(settings: Settings) -> Table:
    return ensure_table(get_catalog(settings), LABELS_TABLE, SCHEMA)


def write_labels(settings: Settings, labels: list[dict[str, Any]], source: str = "datagen") -> int:
    """Upsert ``[{platform, kol_id, label}]`` by (platform, kol_id); unknown labels are refused."""
    bad = {lab["label"] for lab in labels} - set(LABELS)
    if bad:
        raise ValueError(f"unknown label(s) {sorted(bad)}; expected one of {LABELS}")
    now = datetime.now(UTC)
    newest = {(lab["platform"], lab["kol_id"]): lab["label"] for lab in labels}
    rows = [{"platform": p, "kol_id": k, "label": label, "source": source, "labeled_at": now}
            for (p, k), label in newest.items()]
    if rows:
        replace_by_key(labels_table(settings), pa.Table.from_pylist(rows, schema=SCHEMA))
    return len(rows)


def replace_by_key(table: Table, incoming: pa.Table) -> None:
    """Upsert by (platform, kol_id) in one commit: an append when no key is known yet, else the table's
    other rows plus ``incoming`` as one overwrite.

    pyiceberg's ``upsert`` matches keys through one filter expression per row: 34 s for 100,000 new labels,
    and the labels of 1,000,000 profiles would not finish. The labels table is one small row per KOL:
    reading it whole into Arrow is cheaper than any per-key lookup.
    """
    import pyarrow.compute as pc

    def key(t: pa.Table) -> pa.Array:
        return pc.binary_join_element_wise(t["platform"], t["kol_id"], "\x00")

    existing = table.scan().to_arrow()
    known = pc.is_in(key(existing), value_set=key(incoming)) if existing.num_rows else None
    if known is None or not pc.any(known).as_py():
        table.append(incoming)
        return
    table.overwrite(pa.concat_tables([existing.filter(pc.invert(known)).cast(incoming.schema), incoming]))
