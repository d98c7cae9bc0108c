"""Retention keeps what lineage reads even where no other rule would: the Bronze snapshot Silver's newest
commit names as its upstream, older than Bronze's newest bookkeeping commit."""

import json

import pyarrow as pa
import pytest

from lakehouse.core.names import KAFKA_NEXT_OFFSETS, LINEAGE_UPSTREAM
from lakehouse.iceberg.retention import expire_before_ms, protected_snapshots

pytestmark = pytest.mark.integration

BRONZE, SILVER = "bronze.kol_profiles_raw", "silver.kol_profiles"
ROWS = pa.schema([("id", pa.int32())])


def _append(table, i: int, **summary: str) -> int:
    table.append(pa.Table.from_pylist([{"id": i}], schema=ROWS), snapshot_properties=summary)
    return table.refresh().current_snapshot().snapshot_id


def test_the_bronze_snapshot_silvers_lineage_names_is_kept_by_that_rule_alone(catalog):
    bronze = catalog.create_table(BRONZE, ROWS)
    read_by_silver = _append(bronze, 1)  # no bookkeeping on it: only Silver's lineage can keep it
    _append(bronze, 2)
    newest = _append(bronze, 3, **{KAFKA_NEXT_OFFSETS: json.dumps({"0": 3})})
    stamps = {s.snapshot_id: s.timestamp_ms for s in bronze.refresh().snapshots()}
    now = max(stamps.values()) + 1

    alone = protected_snapshots(catalog, [BRONZE])  # before Silver exists: bookkeeping keeps the newest only
    assert alone == {BRONZE: {newest}}
    assert expire_before_ms(bronze, alone[BRONZE], now) == stamps[newest]

    silver = catalog.create_table(SILVER, ROWS)
    _append(silver, 1, **{LINEAGE_UPSTREAM: json.dumps({BRONZE: read_by_silver})})
    kept = protected_snapshots(catalog, ["silver.not_yet_created", BRONZE, SILVER])  # a missing table is skipped
    assert kept[BRONZE] == {newest, read_by_silver}
    assert expire_before_ms(bronze, kept[BRONZE], now) == stamps[read_by_silver]  # it and all after it stay
