"""Bronze against its own Kafka offset bookkeeping: every offset recorded as consumed is a row, once.

Run after each ingest (a mismatch fails the task without retries) and by the
nightly run on ``main`` (as the ``bronze_vs_kafka_offsets.<table>`` check).
"""

from __future__ import annotations

import json

import pyarrow.compute as pc

from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.errors import ReconciliationError
from lakehouse.core.names import KAFKA_RANGES
from lakehouse.iceberg.snapshots import summary


def recorded_ranges(table) -> dict[int, list[list[int]]]:
    """Per partition, the offset ranges the table's commits recorded as consumed, in commit order."""
    ranges: dict[int, list[list[int]]] = {}
    for snap in sorted(table.snapshots(), key=lambda s: s.sequence_number):
        for p, (first, last) in json.loads(summary(snap).get(KAFKA_RANGES, "{}")).items():
            ranges.setdefault(int(p), []).append([first, last])
    return ranges


def reconcile(table, topic: str) -> dict[int, dict]:
    """Check Bronze against its own offset bookkeeping, per partition.

    Rows in the table == offsets recorded as consumed, the recorded ranges are
    contiguous from the first offset ever consumed, and the (partition, offset)
    pairs in the data are unique and exactly those ranges. Raises
    :class:`ReconciliationError` naming the topic, partition and offsets of the first mismatch.
    """
    ranges = recorded_ranges(table)
    data = table.scan(selected_fields=("kafka_partition", "kafka_offset")).to_arrow()
    report: dict[int, dict] = {}
    for p in sorted(set(ranges) | set(pc.unique(data["kafka_partition"]).to_pylist())):
        spans = ranges.get(p, [])
        _check_contiguous(topic, p, spans)
        offsets = data.filter(pc.equal(data["kafka_partition"], p))["kafka_offset"]
        _check_rows_match(table, topic, p, spans, offsets)
        report[p] = {"rows": sum(last - first + 1 for first, last in spans),
                     "first": spans[0][0] if spans else None, "last": spans[-1][1] if spans else None}
    return report


def _check_contiguous(topic: str, p: int, spans: list[list[int]]) -> None:
    for (_, prev_last), (first, last) in zip(spans, spans[1:], strict=False):
        if first != prev_last + 1:
            kind = "gap" if first > prev_last + 1 else "overlap"
            raise ReconciliationError(f"{topic}[{p}]: recorded ranges have a {kind}: ...{prev_last} then {first}..{last}")


def _check_rows_match(table, topic: str, p: int, spans: list[list[int]], offsets) -> None:
    expected_rows = sum(last - first + 1 for first, last in spans)
    if len(offsets) != expected_rows:
        raise ReconciliationError(
            f"{topic}[{p}]: {len(offsets)} rows in {table.name()} but {expected_rows} offsets recorded "
            f"as consumed ({spans[0][0] if spans else '-'}..{spans[-1][1] if spans else '-'})"
        )
    if not expected_rows:
        return
    first, last = spans[0][0], spans[-1][1]
    distinct = len(pc.unique(offsets))
    lo, hi = pc.min(offsets).as_py(), pc.max(offsets).as_py()
    if distinct != expected_rows or lo != first or hi != last:
        raise ReconciliationError(
            f"{topic}[{p}]: data holds {distinct} distinct offsets in {lo}..{hi}, "
            f"bookkeeping says {expected_rows} in {first}..{last}"
        )


def bronze_vs_kafka_offsets(table, table_name: str, topic: str) -> CheckResult:
    """:func:`reconcile` as a check result (the nightly run records it instead of raising)."""
    check_id = f"bronze_vs_kafka_offsets.{table_name.split('.', 1)[1]}"
    if table is None:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, details="table missing")
    try:
        partitions = reconcile(table, topic)
    except ReconciliationError as exc:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, None, "== offsets consumed", str(exc))
    rows = sum(p.get("rows", 0) for p in partitions.values())
    return CheckResult(check_id, "bronze", table_name, Status.PASS, rows, "== offsets consumed",
                       f"{len(partitions)} partition(s) reconciled")
