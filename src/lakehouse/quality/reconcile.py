"""Bronze against its own Kafka offset bookkeeping: every offset recorded as consumed is a row, once.

Run after each ingest (a mismatch fails the task without retries) and by the
nightly run on ``main`` (as the ``bronze_vs_kafka_offsets.<table>`` check).
Its cost follows the increment, not the table: the totals come from the newest
commit's :class:`~lakehouse.core.offsets.BronzeState` and Iceberg's own
``total-records``; only the rows of the commits being reconciled are read (the
whole-table offset check runs in Spark, see
:func:`lakehouse.quality.lineage.bronze_offsets_contiguous`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.errors import ReconciliationError
from lakehouse.core.names import KAFKA_NEXT_OFFSETS, KAFKA_RANGES
from lakehouse.core.offsets import BronzeState
from lakehouse.iceberg.bookkeeping import recorded_state, total_rows
from lakehouse.iceberg.filters import all_of, any_of, at_least, at_most, equal
from lakehouse.iceberg.snapshots import commits_between, newest_with, summary

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot


def ingest_commits(table: Table, since: int | None) -> list[Snapshot]:
    """The ingest commits after snapshot ``since`` up to ``main``, oldest first (default: the newest one)."""
    head = table.current_snapshot()
    if head is None:
        return []
    if since is None:
        newest = newest_with(table, head.snapshot_id, KAFKA_NEXT_OFFSETS)
        return [newest] if newest is not None else []
    return [s for s in reversed(list(commits_between(table, since, head.snapshot_id)))
            if KAFKA_NEXT_OFFSETS in summary(s)]


def reconcile(table: Table, topic: str, since: int | None = None) -> dict[int, dict[str, Any]]:
    """Check Bronze against its offset bookkeeping, per partition of the current epoch.

    For the ingest commits after ``since`` (default: the newest one): each commit's
    ranges continue exactly where the previous commit's offsets ended, and their
    rows are exactly those offsets, once. Then the table's row count equals the
    offsets recorded as consumed since it began. Raises :class:`ReconciliationError`
    naming the topic, partition and offsets of the first mismatch.
    """
    state = recorded_state(table)
    ranges: dict[int, list[int]] = {}
    for snap in ingest_commits(table, since):
        for p, (first, last) in _check_continues(table, topic, snap).items():
            ranges.setdefault(p, [first, last])[1] = last
    _check_rows_match(table, topic, ranges, state.epoch)
    _check_total(table, topic, state)
    return {p: {"rows": nxt - state.first.get(p, nxt), "first": state.first.get(p),
                "last": nxt - 1 if nxt > state.first.get(p, nxt) else None}
            for p, nxt in sorted(state.next.items())}


def _check_continues(table: Table, topic: str, snap: Snapshot) -> dict[int, list[int]]:
    """Each of a commit's ranges ends at the next offset it recorded and starts where the commit before it
    (same epoch) ended; returns the ranges ``{partition: [first, last]}``."""
    ranges = {int(p): r for p, r in json.loads(summary(snap).get(KAFKA_RANGES, "{}")).items()}
    state = BronzeState.from_summary(summary(snap))
    parent = snap.parent_snapshot_id
    # the first commit, or its parent expired: the nightly Spark check covers the table
    before = recorded_state(table, parent) if parent is not None and table.snapshot_by_id(parent) else None
    for p, (first, last) in ranges.items():
        if state.next.get(p) != last + 1:
            raise ReconciliationError(f"{topic}[{p}]: commit {snap.snapshot_id} recorded {first}..{last} "
                                      f"but next offset {state.next.get(p)}")
        if before is None:
            continue
        expected = before.next.get(p, state.first.get(p)) if before.epoch == state.epoch else state.first.get(p)
        if expected is None:
            raise ReconciliationError(f"{topic}[{p}]: commit {snap.snapshot_id} recorded {first}..{last} but "
                                      f"no first offset of its epoch")
        if first != expected:
            kind = "gap" if first > expected else "overlap"
            raise ReconciliationError(f"{topic}[{p}]: recorded ranges have a {kind}: ...{expected - 1} "
                                      f"then {first}..{last}")
    return ranges


def _check_rows_match(table: Table, topic: str, ranges: dict[int, list[int]], epoch: int) -> None:
    """The rows of ``epoch`` at the reconciled offsets are exactly those offsets, once each (only they are read)."""
    if not ranges:
        return
    row_filter = any_of(*(all_of(equal("kafka_partition", p), at_least("kafka_offset", lo), at_most("kafka_offset", hi))
                          for p, (lo, hi) in ranges.items()))
    data = table.scan(row_filter=row_filter,
                      selected_fields=("kafka_partition", "kafka_offset", "kafka_epoch")).to_arrow()
    data = data.filter(pc.fill_null(pc.equal(data["kafka_epoch"], epoch), epoch == 0))
    for p, (lo, hi) in sorted(ranges.items()):
        offsets = data.filter(pc.equal(data["kafka_partition"], p))["kafka_offset"]
        distinct = len(pc.unique(offsets))
        if len(offsets) != hi - lo + 1 or distinct != len(offsets):
            raise ReconciliationError(
                f"{topic}[{p}]: {len(offsets)} rows ({distinct} distinct offsets) in {_name(table)} at offsets "
                f"{lo}..{hi}, which the bookkeeping records as {hi - lo + 1} consumed"
            )


def _name(table: Table) -> str:
    """``bronze.kol_profiles_raw`` (pyiceberg names a table by its identifier tuple)."""
    return ".".join(table.name())


def _check_total(table: Table, topic: str, state: BronzeState) -> None:
    rows = total_rows(table)
    if rows != state.rows():
        spans = ", ".join(f"[{p}] {state.first.get(p)}..{n - 1}" for p, n in sorted(state.next.items()))
        raise ReconciliationError(
            f"{topic}: {rows} rows in {_name(table)} but {state.rows()} offsets recorded as consumed "
            f"(epoch {state.epoch}: {spans}; {state.rows_before} rows of earlier epochs)"
        )


def bronze_vs_kafka_offsets(table: Table | None, table_name: str, topic: str) -> CheckResult:
    """:func:`reconcile` as a check result (the nightly run records it instead of raising)."""
    check_id = f"bronze_vs_kafka_offsets.{table_name.split('.', 1)[1]}"
    if table is None:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, details="table missing")
    try:
        partitions = reconcile(table, topic)
    except ReconciliationError as exc:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, None, "== offsets consumed", str(exc))
    rows = total_rows(table)
    return CheckResult(check_id, "bronze", table_name, Status.PASS, rows, "== offsets consumed",
                       f"{len(partitions)} partition(s) reconciled")
