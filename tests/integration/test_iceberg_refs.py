"""A table's refs and history (``lakehouse.iceberg.snapshots``) and Write-Audit-Publish's fast-forward
(``lakehouse.etl.wap``) on branches written with pyiceberg: what each helper answers, and that a publish moves
every table or none."""

import json

import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

from lakehouse.core.errors import PublishConflictError
from lakehouse.etl import wap
from lakehouse.iceberg import snapshots as snap
from lakehouse.iceberg.catalog import first_publish

pytestmark = pytest.mark.integration

IDS = pa.schema([("id", pa.int64())])
ONE, TWO, BRANCH = "silver.t_one", "silver.t_two", "audit_run_a"


def append(table, *ids: int, branch: str = "main", **summary: str) -> int:
    table.append(pa.Table.from_pylist([{"id": i} for i in ids], schema=IDS), snapshot_properties=summary,
                 branch=branch)
    return table.refresh().refs()[branch].snapshot_id


def branch_from_main(table, branch: str = BRANCH) -> None:
    with table.manage_snapshots() as refs:
        refs.create_branch(table.current_snapshot().snapshot_id, branch)
    table.refresh()


# ---- history and refs -------------------------------------------------------------------------------------

def test_history_helpers_walk_a_refs_ancestry(catalog):
    table = catalog.create_table(ONE, IDS)
    assert snap.ref_snapshot_id(table) is None and snap.ref_snapshot_id(None) is None
    assert list(snap.ancestry(table, None)) == []
    first = append(table, 1, **{"k": json.dumps({"v": 1})})
    second = append(table, 2)
    third = append(table, 3, **{"k": json.dumps({"v": 3})})

    assert [s.snapshot_id for s in snap.ancestry(table, third)] == [third, second, first]
    assert [s.snapshot_id for s in snap.commits_between(table, first, third)] == [third, second]
    assert [s.snapshot_id for s in snap.commits_between(table, None, second)] == [second, first]
    assert snap.is_in_history(table, first, third) and snap.is_in_history(table, third, third)
    assert not snap.is_in_history(table, third, first)
    assert snap.newest_with(table, second, "k").snapshot_id == first
    assert snap.newest_with(table, third, "absent") is None
    assert snap.newest_property(table, third, "k") == json.dumps({"v": 3})
    assert snap.newest_json(table, second, "k") == {"v": 1}
    assert snap.newest_json(table, second, "absent", {"d": 0}) == {"d": 0}
    assert snap.newest_json(table, None, "k") is None
    assert snap.summary(None) == {} and snap.summary(table.snapshot_by_id(first))["k"] == json.dumps({"v": 1})
    assert snap.ref_snapshot_id(table) == third


def test_a_run_reads_its_branch_where_it_wrote_one_else_main(catalog):
    table = catalog.create_table(ONE, IDS)
    append(table, 1)
    assert snap.run_ref(table, BRANCH) == "main"
    assert snap.run_ref(None, BRANCH) == "main"
    assert snap.run_ref(table, None) == "main"
    assert snap.branch_files(table, BRANCH) is None
    branch_from_main(table)
    assert snap.run_ref(table, BRANCH) == BRANCH
    assert snap.ref_snapshot_id(table, BRANCH) == snap.ref_snapshot_id(table, "main")
    assert snap.ref_snapshot_id(table, "no_such_ref") is None


def test_branch_files_are_the_files_the_branch_wrote(catalog):
    table = catalog.create_table(ONE, IDS)
    base = append(table, 1)
    branch_from_main(table)
    unchanged = snap.branch_files(table, BRANCH)
    assert (unchanged.head, unchanged.base, unchanged.added) == (base, base, set())
    head = append(table, 2, branch=BRANCH)
    files = snap.branch_files(table, BRANCH)
    assert (files.head, files.base) == (head, base)
    assert len(files.base_files) == 1 and len(files.head_files) == 2
    assert files.added == files.head_files - files.base_files and len(files.added) == 1
    assert snap.data_files(table, None) == set()


def test_a_snapshot_without_data_files_lists_none(catalog):
    """An empty commit (Spark writes one for a table created empty) has no manifest: pyiceberg's inspect
    cannot list it, so it is answered from the summary."""
    table = catalog.create_table(ONE, IDS)
    table.append(pa.Table.from_pylist([], schema=IDS))
    empty = table.refresh().current_snapshot().snapshot_id
    assert snap.data_files(table, empty) == set()
    assert snap.branch_files(table, "no_branch") is None
    branch_from_main(table)
    head = append(table, 1, branch=BRANCH)
    files = snap.branch_files(table, BRANCH)
    assert (files.base, files.head, files.base_files, len(files.added)) == (empty, head, set(), 1)


def test_live_rows_subtract_position_deletes_and_count_nothing_for_no_snapshot(catalog):
    table = catalog.create_table(ONE, IDS)
    head = append(table, 1, 2, 3)
    assert snap.live_rows(table, head) == 3
    assert snap.live_rows(table, None) == 0
    table.delete("id == 1")
    table.refresh()
    assert snap.live_rows(table, table.current_snapshot().snapshot_id) == 2
    table.delete("id >= 0")  # nothing left: no data file, so no manifest to list
    table.refresh()
    assert snap.data_files(table, table.current_snapshot().snapshot_id) == set()


def test_the_data_snapshot_skips_maintenance_commits(catalog):
    from pyiceberg.table.snapshots import Operation

    table = catalog.create_table(ONE, IDS)
    data = append(table, 1)
    assert snap.data_snapshot_id(table, data) == data
    assert snap.data_snapshot_id(table, None) is None
    replaced = [s for s in snap.ancestry(table, data) if s.summary.operation == Operation.REPLACE]
    assert replaced == []  # pyiceberg writes no replace commit; Spark's compaction does (test_maintenance)
    table.append(pa.Table.from_pylist([], schema=table.schema().as_arrow()), snapshot_properties={"k": "v"})
    empty = table.refresh().current_snapshot().snapshot_id  # a bookkeeping commit: properties, no rows
    assert snap.data_snapshot_id(table, empty) == data and not snap.changes_rows(table.snapshot_by_id(empty))


def test_schema_changes_are_named_by_field_id(catalog):
    old = Schema(NestedField(1, "id", LongType()), NestedField(2, "name", StringType()),
                 NestedField(3, "views", IntegerType()))
    new = Schema(NestedField(1, "id", LongType()), NestedField(2, "handle", StringType()),
                 NestedField(3, "views", LongType()), NestedField(4, "bio", StringType()))
    change = snap.schema_change(old, new)
    assert change == snap.SchemaChange(added=("bio",), dropped=(), retyped=("views: int -> long",),
                                       renamed=("name -> handle",))
    assert snap.schema_change(new, old).dropped == ("bio",)
    assert bool(change) and not snap.schema_change(old, old)
    for one in (snap.SchemaChange(added=("a",)), snap.SchemaChange(dropped=("a",)),
                snap.SchemaChange(retyped=("a",)), snap.SchemaChange(renamed=("a",))):
        assert one

    table = catalog.create_table(ONE, IDS)
    assert snap.schema_of(table, None) == table.schema()
    first = append(table, 1)
    with table.update_schema() as update:
        update.add_column("extra", StringType())
    table.refresh()
    assert [f.name for f in snap.schema_of(table, first).fields] == ["id"]
    assert [f.name for f in snap.schema_of(table, None).fields] == ["id", "extra"]


def test_table_or_none(catalog):
    assert snap.table_or_none(catalog, ONE) is None
    catalog.create_table(ONE, IDS)
    assert snap.table_or_none(catalog, ONE).name() == ("silver", "t_one")


# ---- Write-Audit-Publish --------------------------------------------------------------------------------

@pytest.fixture
def two_tables(catalog):
    """t_one and t_two with a row on main and the run's branch carrying one more row each."""
    tables = {}
    for name in (ONE, TWO):
        table = catalog.create_table(name, IDS)
        append(table, 0)
        branch_from_main(table)
        append(table, 1, branch=BRANCH)
        tables[name] = table
    return tables


def test_publish_fast_forwards_main_of_every_table_and_drops_the_branch(catalog, two_tables):
    before = {name: wap.refs(name) for name in two_tables}
    assert first_publish(catalog) is None
    published = wap.publish(BRANCH, ("silver.absent", ONE, TWO))  # a table without the branch is passed over

    assert published == {name: {"previous": before[name]["main"], "main": before[name][BRANCH]}
                         for name in two_tables}
    assert {name: wap.refs(name) for name in two_tables} == {
        name: {"main": before[name][BRANCH]} for name in two_tables}
    assert wap.publish(BRANCH, (ONE, TWO)) == {}  # idempotent: nothing left to move
    assert first_publish(catalog).startswith(f"{BRANCH} at ") and first_publish(catalog).endswith("+00:00")
    assert wap.refs("silver.absent") == {}


def test_a_main_that_moved_blocks_the_publish_of_every_table(catalog, two_tables):
    append(two_tables[TWO], 9)  # another run published t_two since this run branched
    before = {name: wap.refs(name) for name in two_tables}
    with pytest.raises(PublishConflictError, match=rf"cannot publish {BRANCH}: .*{TWO} \(main \d+ is not in the "
                                                   rf"history of {BRANCH} \d+\)") as raised:
        wap.publish(BRANCH, (ONE, TWO))
    assert ONE not in str(raised.value)
    assert {name: wap.refs(name) for name in two_tables} == before  # nothing moved, both branches kept
    with pytest.raises(PublishConflictError):
        wap.publishable(BRANCH, (ONE, TWO))
    assert set(wap.publishable(BRANCH, (ONE,))) == {ONE}
    assert first_publish(catalog) is None
    append(two_tables[ONE], 9)
    with pytest.raises(PublishConflictError, match=rf"{ONE} \(main \d+ .*\); {TWO} \(main"):
        wap.publish(BRANCH, (ONE, TWO))  # every conflicting table is named
