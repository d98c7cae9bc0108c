"""Bronze against its offset bookkeeping, rule by rule, on commits written with pyiceberg (no broker, no Spark):
each way the bookkeeping and the rows can disagree is named, and what agrees is reported exactly."""

import json

import pyarrow as pa
import pytest

from lakehouse.core.checks import Status
from lakehouse.core.errors import ReconciliationError
from lakehouse.core.names import KAFKA_RANGES
from lakehouse.core.offsets import BronzeState
from lakehouse.quality.reconcile import bronze_vs_kafka_offsets, ingest_commits, reconcile

pytestmark = pytest.mark.integration

TOPIC, NAME = "kol.profiles", "bronze.kol_profiles_raw"
ROWS = pa.schema([("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()), ("kafka_epoch", pa.int32())])


@pytest.fixture
def bronze(catalog):
    return catalog.create_table(NAME, ROWS)


def ingest(table, ranges: dict[int, tuple[int, int]], state: BronzeState, *, rows: dict[int, list[int]] | None = None,
           recorded_next: dict[int, int] | None = None) -> BronzeState:
    """One ingest commit: the rows at ``ranges`` (or ``rows``, to corrupt them) and the bookkeeping after it."""
    after = state.advanced({**state.next, **(recorded_next or {p: last + 1 for p, (_, last) in ranges.items()})})
    offsets = rows or {p: list(range(first, last + 1)) for p, (first, last) in ranges.items()}
    data = [{"kafka_partition": p, "kafka_offset": o, "kafka_epoch": state.epoch} for p, os in offsets.items()
            for o in os]
    summary = {**after.to_summary(), KAFKA_RANGES: json.dumps({str(p): list(r) for p, r in ranges.items()})}
    table.append(pa.Table.from_pylist(data, schema=ROWS), snapshot_properties=summary)
    table.refresh()
    return after


def head(table) -> int:
    return table.current_snapshot().snapshot_id


def test_contiguous_commits_reconcile_to_the_offsets_consumed_per_partition(bronze):
    state = ingest(bronze, {0: (0, 4), 1: (10, 12)}, BronzeState(first={0: 0, 1: 10}))
    first_commit = head(bronze)
    ingest(bronze, {0: (5, 6)}, state)

    assert reconcile(bronze, TOPIC) == {0: {"rows": 7, "first": 0, "last": 6}, 1: {"rows": 3, "first": 10, "last": 12}}
    assert reconcile(bronze, TOPIC, since=None) == reconcile(bronze, TOPIC, since=first_commit)
    result = bronze_vs_kafka_offsets(bronze, NAME, TOPIC)
    assert (result.check_id, result.layer, result.table, result.status, result.observed, result.threshold) == (
        "bronze_vs_kafka_offsets.kol_profiles_raw", "bronze", NAME, Status.PASS, 10, "== offsets consumed")
    assert result.details == "2 partition(s) reconciled"


def test_a_partition_with_nothing_consumed_reports_no_last_offset(bronze):
    ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0, 1: 3}, next={1: 3}))
    assert reconcile(bronze, TOPIC)[1] == {"rows": 0, "first": 3, "last": None}


@pytest.mark.parametrize(("second", "kind"), [((7, 8), "gap"), ((4, 8), "overlap")])
def test_a_commit_that_does_not_continue_where_the_last_one_ended_is_a_gap_or_an_overlap(bronze, second, kind):
    state = ingest(bronze, {0: (0, 4)}, BronzeState(first={0: 0}))
    first_commit = head(bronze)
    ingest(bronze, {0: second}, state)
    with pytest.raises(ReconciliationError, match=rf"{TOPIC}\[0\]: recorded ranges have a {kind}: \.\.\.4 then "
                                                  rf"{second[0]}\.\.{second[1]}"):
        reconcile(bronze, TOPIC, since=first_commit)


def test_a_commit_whose_next_offset_is_not_its_last_plus_one_is_named(bronze):
    ingest(bronze, {0: (0, 4)}, BronzeState(first={0: 0}), recorded_next={0: 6})
    with pytest.raises(ReconciliationError, match=r"recorded 0\.\.4 but next offset 6"):
        reconcile(bronze, TOPIC)


def test_a_duplicate_or_missing_row_at_the_reconciled_offsets_is_counted(bronze):
    ingest(bronze, {0: (0, 2)}, BronzeState(first={0: 0}), rows={0: [0, 1, 1]})
    with pytest.raises(ReconciliationError, match=r"3 rows \(2 distinct offsets\) .* at offsets 0\.\.2, which the "
                                                  r"bookkeeping records as 3 consumed"):
        reconcile(bronze, TOPIC)
    result = bronze_vs_kafka_offsets(bronze, NAME, TOPIC)
    assert (result.status, result.observed, result.threshold) == (Status.FAIL, None, "== offsets consumed")
    assert "2 distinct offsets" in result.details


def test_rows_outside_the_reconciled_commits_are_caught_by_the_table_total(bronze):
    state = ingest(bronze, {0: (0, 2)}, BronzeState(first={0: 0}), rows={0: [0, 1, 2, 7]})  # one row too many
    ingest(bronze, {0: (3, 4)}, state)
    with pytest.raises(ReconciliationError, match=rf"{TOPIC}: 6 rows in .* but 5 offsets recorded as consumed "
                                                  r"\(epoch 0: \[0\] 0\.\.4; 0 rows of earlier epochs\)"):
        reconcile(bronze, TOPIC)


def test_a_rebaselined_epoch_starts_at_its_own_first_offsets(bronze):
    old = ingest(bronze, {0: (0, 4)}, BronzeState(first={0: 0}))
    first_commit = head(bronze)
    rebased = BronzeState(first={0: 100}, next={0: 100}, epoch=1, rows_before=old.rows())
    ingest(bronze, {0: (100, 101)}, rebased)
    assert reconcile(bronze, TOPIC, since=first_commit) == {0: {"rows": 2, "first": 100, "last": 101}}

    ingest(bronze, {0: (105, 106)}, rebased.advanced({0: 102}))
    with pytest.raises(ReconciliationError, match=r"gap: \.\.\.101 then 105\.\.106"):
        reconcile(bronze, TOPIC, since=first_commit)


def test_rows_of_an_earlier_epoch_do_not_count_for_the_current_one(bronze):
    old = ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}))
    ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}, next={0: 0}, epoch=1, rows_before=old.rows()))
    assert reconcile(bronze, TOPIC) == {0: {"rows": 2, "first": 0, "last": 1}}


def test_ingest_commits_are_the_commits_that_recorded_offsets_oldest_first(bronze):
    assert ingest_commits(bronze, None) == []
    state = ingest(bronze, {0: (0, 0)}, BronzeState(first={0: 0}))
    start = head(bronze)
    state = ingest(bronze, {0: (1, 1)}, state)
    second = head(bronze)
    ingest(bronze, {0: (2, 2)}, state)
    third = head(bronze)
    bronze.append(pa.Table.from_pylist([], schema=ROWS))  # a commit without bookkeeping (maintenance-like)
    bronze.refresh()

    assert [s.snapshot_id for s in ingest_commits(bronze, start)] == [second, third]
    assert [s.snapshot_id for s in ingest_commits(bronze, None)] == [third]


def test_a_missing_table_fails_the_check():
    result = bronze_vs_kafka_offsets(None, NAME, TOPIC)
    assert (result.check_id, result.layer, result.table, result.status, result.details) == (
        "bronze_vs_kafka_offsets.kol_profiles_raw", "bronze", NAME, Status.FAIL, "table missing")


def test_every_partition_of_a_first_commit_is_checked_and_a_new_partition_starts_at_its_first_offset(bronze):
    with pytest.raises(ReconciliationError, match=r"\[1\]: commit \d+ recorded 0\.\.1 but next offset 5"):
        ingest(bronze, {0: (0, 1), 1: (0, 1)}, BronzeState(first={0: 0, 1: 0}), recorded_next={0: 2, 1: 5})
        reconcile(bronze, TOPIC)


def test_a_partition_that_appears_later_continues_from_its_first_offset(bronze):
    state = ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}))
    ingest(bronze, {1: (10, 11)}, BronzeState(first={0: 0, 1: 10}, next=state.next))
    assert reconcile(bronze, TOPIC)[1] == {"rows": 2, "first": 10, "last": 11}


def test_a_partition_without_a_first_offset_in_its_epoch_is_named(bronze):
    state = ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}))
    ingest(bronze, {1: (10, 11)}, state)  # partition 1 consumed, but no first offset recorded for it
    with pytest.raises(ReconciliationError, match=rf"^{TOPIC}\[1\]: commit \d+ recorded 10\.\.11 but no first offset "
                                                  r"of its epoch$"):
        reconcile(bronze, TOPIC)


def test_a_commit_that_consumed_nothing_reconciles_and_a_partition_without_a_first_offset_counts_nothing(bronze):
    state = ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}))
    bronze.append(pa.Table.from_pylist([], schema=ROWS),
                  snapshot_properties=BronzeState(first={0: 0}, next={**state.next, 2: 4}).to_summary())
    assert reconcile(bronze.refresh(), TOPIC) == {0: {"rows": 2, "first": 0, "last": 1},
                                                  2: {"rows": 0, "first": None, "last": None}}


def test_only_the_commits_after_since_are_read_row_by_row(bronze):
    state = ingest(bronze, {0: (0, 2)}, BronzeState(first={0: 0}))
    first_commit = head(bronze)
    state = ingest(bronze, {0: (3, 5)}, state, rows={0: [3, 4, 9]})  # 3 rows: the total agrees, offset 5 missing
    ingest(bronze, {0: (6, 7)}, state)
    assert reconcile(bronze, TOPIC)[0]["rows"] == 8  # the newest commit alone: nothing wrong in it
    with pytest.raises(ReconciliationError, match=rf"^{TOPIC}\[0\]: 4 rows \(4 distinct offsets\) in {NAME} at "
                                                  r"offsets 3\.\.7, which the bookkeeping records as 5 consumed$"):
        reconcile(bronze, TOPIC, since=first_commit)


def test_rows_without_an_epoch_belong_to_epoch_zero_only(bronze):
    nulls = pa.Table.from_pylist([{"kafka_partition": 0, "kafka_offset": o, "kafka_epoch": None} for o in (0, 1)],
                                 schema=ROWS)
    summary = {**BronzeState(first={0: 0}, next={0: 2}).to_summary(), KAFKA_RANGES: json.dumps({"0": [0, 1]})}
    bronze.append(nulls, snapshot_properties=summary)  # rows written before the table recorded epochs
    assert reconcile(bronze.refresh(), TOPIC) == {0: {"rows": 2, "first": 0, "last": 1}}
    rebased = BronzeState(first={0: 0}, next={0: 2}, epoch=1, rows_before=2)
    summary = {**rebased.to_summary(), KAFKA_RANGES: json.dumps({"0": [0, 1]})}
    bronze.append(nulls, snapshot_properties=summary)  # epoch 1's offsets 0..1, but its rows carry no epoch
    with pytest.raises(ReconciliationError, match=r"0 rows \(0 distinct offsets\)"):
        reconcile(bronze.refresh(), TOPIC)


def test_a_total_that_disagrees_names_every_partition_span(bronze):
    ingest(bronze, {0: (0, 1), 1: (5, 5)}, BronzeState(first={0: 0, 1: 5}), rows={0: [0, 1, 8], 1: [5]})
    result = bronze_vs_kafka_offsets(bronze, NAME, TOPIC)
    assert (result.check_id, result.layer, result.table, result.status) == (
        "bronze_vs_kafka_offsets.kol_profiles_raw", "bronze", NAME, Status.FAIL)
    assert result.details == (f"{TOPIC}: 4 rows in {NAME} but 3 offsets recorded as consumed "
                              "(epoch 0: [0] 0..1, [1] 5..5; 0 rows of earlier epochs)")


def test_a_commit_whose_parent_expired_is_checked_without_its_predecessor(bronze):
    state = ingest(bronze, {0: (0, 1)}, BronzeState(first={0: 0}))
    parent = head(bronze)
    ingest(bronze, {0: (5, 6)}, state)  # a gap, only visible against the parent
    bronze.maintenance.expire_snapshots().by_id(parent).commit()
    bronze.refresh()
    assert bronze.snapshot_by_id(parent) is None
    with pytest.raises(ReconciliationError, match=rf"^{TOPIC}: 4 rows in {NAME} but 7 offsets"):  # by the total
        reconcile(bronze, TOPIC)
