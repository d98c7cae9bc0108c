"""``ml.kol_labels``: ground truth for the trust model (authentic / bot per KOL).

Fed by datagen here; in production it would be a curated labeling table. A
KOL labeled again keeps one row (the newest label), so re-running a producer
never duplicates labels.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.config import Settings
from lakehouse.core.names import LABELS_TABLE
from lakehouse.iceberg.catalog import ensure_table, get_catalog

LABELS = ("authentic", "bot")
SCHEMA = pa.schema([
    pa.field("platform", pa.string(), nullable=False),
    pa.field("kol_id", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("labeled_at", pa.timestamp("us", tz="UTC")),
])


def labels_table(settings: Settings):
    return ensure_table(get_catalog(settings), LABELS_TABLE, SCHEMA)


def write_labels(settings: Settings, labels: list[dict], source: str = "datagen") -> int:
    """Upsert ``[{platform, kol_id, label}]`` by (platform, kol_id); unknown labels are refused."""
    bad = {lab["label"] for lab in labels} - set(LABELS)
    if bad:
        raise ValueError(f"unknown label(s) {sorted(bad)}; expected one of {LABELS}")
    now = datetime.now(UTC)
    newest = {(lab["platform"], lab["kol_id"]): lab["label"] for lab in labels}
    rows = [{"platform": p, "kol_id": k, "label": label, "source": source, "labeled_at": now}
            for (p, k), label in newest.items()]
    if rows:
        labels_table(settings).upsert(pa.Table.from_pylist(rows, schema=SCHEMA), join_cols=["platform", "kol_id"])
    return len(rows)
