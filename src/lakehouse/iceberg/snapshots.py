"""Small named helpers over a pyiceberg table's refs and snapshot history.

Every layer asks the same few questions of a table: which ref does this run
read (its WAP branch, or ``main``), what did the newest commit of that ref's
history record under a summary key, which commits lie between two snapshots.
They are answered here once, on pyiceberg's own ancestry walk
(:func:`pyiceberg.table.snapshots.ancestors_of`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pyiceberg.table.snapshots import Snapshot, ancestors_between_ids, ancestors_of, is_ancestor_of

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

from lakehouse.core.names import MAIN, TOTAL_DATA_FILES, TOTAL_POSITION_DELETES, TOTAL_RECORDS


def table_or_none(catalog: Catalog, name: str) -> Table | None:
    """The pyiceberg table, or None when it does not exist yet."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return catalog.load_table(name)
    except NoSuchTableError:
        return None


def summary(snapshot: Snapshot | None) -> dict[str, str]:
    """A snapshot's summary properties (Iceberg's own and ours), empty for none."""
    return dict(snapshot.summary.additional_properties) if snapshot is not None and snapshot.summary else {}


def run_ref(table: Table | None, branch: str | None) -> str:
    """The ref a run reads: its branch if ``table`` has it, else ``main`` (a table the run did not write)."""
    return branch if branch and table is not None and branch in table.refs() else MAIN


def ref_snapshot_id(table: Table | None, ref: str = MAIN) -> int | None:
    """Snapshot id ``ref`` points at; None when the table or the ref does not exist."""
    if table is None:
        return None
    head = table.refs().get(ref)
    return head.snapshot_id if head is not None else None


def ancestry(table: Table, snapshot_id: int | None) -> Iterable[Snapshot]:
    """``snapshot_id`` and its ancestors, newest first (nothing for None)."""
    if snapshot_id is None:
        return iter(())
    return ancestors_of(table.snapshot_by_id(snapshot_id), table.metadata)


def commits_between(table: Table, from_exclusive: int | None, to_inclusive: int) -> Iterable[Snapshot]:
    """The commits after ``from_exclusive`` up to and including ``to_inclusive``, newest first."""
    return ancestors_between_ids(from_exclusive, to_inclusive, table.metadata)


def is_in_history(table: Table, snapshot_id: int, of_snapshot_id: int) -> bool:
    """Is ``snapshot_id`` ``of_snapshot_id`` itself or one of its ancestors?"""
    return is_ancestor_of(of_snapshot_id, snapshot_id, table.metadata)


def data_files(table: Table, snapshot_id: int | None) -> set[str]:
    """Paths of the data files live at ``snapshot_id`` (none for None), from its manifests alone.

    On the lake's merge-on-read tables, the files one snapshot has and an older one lacks hold exactly
    the rows written in between: inserted rows, and the new version of updated ones (the old version stays
    in a shared file, masked by a delete file).
    """
    if snapshot_id is None or summary(table.snapshot_by_id(snapshot_id)).get(TOTAL_DATA_FILES) == "0":
        return set()  # (pyiceberg's inspect cannot list a snapshot without manifests)
    return set(table.inspect.data_files(snapshot_id=snapshot_id).column("file_path").to_pylist())


def live_rows(table: Table, snapshot_id: int | None) -> int:
    """Rows live at ``snapshot_id``: records in data files minus position deletes (Spark's merge-on-read
    deletes each row once), from the snapshot summary."""
    props = summary(table.snapshot_by_id(snapshot_id)) if snapshot_id is not None else {}
    return int(props.get(TOTAL_RECORDS, 0)) - int(props.get(TOTAL_POSITION_DELETES, 0))


@dataclass(frozen=True)
class BranchFiles:
    """A WAP branch's head and ``main`` of one table; their data files are read (from manifests) when asked."""

    table: Table
    head: int
    base: int | None

    @cached_property
    def base_files(self) -> set[str]:
        return data_files(self.table, self.base)

    @cached_property
    def head_files(self) -> set[str]:
        return data_files(self.table, self.head)

    @property
    def added(self) -> set[str]:
        """The files the branch wrote: its inserted rows and the new versions of updated ones."""
        return set() if self.head == self.base else self.head_files - self.base_files


def branch_files(table: Table, branch: str) -> BranchFiles | None:
    """``branch`` against ``main`` in ``table`` (None when the table has no such branch)."""
    head = ref_snapshot_id(table, branch) if run_ref(table, branch) == branch else None
    return None if head is None else BranchFiles(table, head, ref_snapshot_id(table, MAIN))


# Summary counts of a commit that changed rows (an append, a MERGE, a delete, a copy-on-write rewrite).
FILE_CHANGES = ("added-data-files", "deleted-data-files", "added-delete-files", "removed-delete-files")


def changes_rows(snapshot: Snapshot) -> bool:
    """Whether a commit changed rows: not maintenance (operation ``replace``: compaction, delete-file and manifest
    rewrites change files, not rows), and not an empty commit (a MERGE of an increment that changed no row, a
    bookkeeping commit carrying summary properties only)."""
    from pyiceberg.table.snapshots import Operation

    if snapshot.summary is None:
        return True
    if snapshot.summary.operation == Operation.REPLACE:
        return False
    return any(int(summary(snapshot).get(key, 0)) for key in FILE_CHANGES)


def data_snapshot_id(table: Table, snapshot_id: int | None) -> int | None:
    """The newest commit in the history of ``snapshot_id`` that changed rows (:func:`changes_rows`); the oldest
    one still retained when none did (the rows are those of the history's start)."""
    oldest = snapshot_id
    for snap in ancestry(table, snapshot_id):
        if changes_rows(snap):
            return snap.snapshot_id
        oldest = snap.snapshot_id
    return oldest


def newest_with(table: Table, snapshot_id: int | None, key: str) -> Snapshot | None:
    """The newest commit in the history of ``snapshot_id`` that recorded summary property ``key``.

    Maintenance commits (compaction ``replace``, delete-file rewrites) record none of
    ours, so bookkeeping is read from the newest commit that did; table maintenance
    never expires that one (see :mod:`lakehouse.iceberg.retention`).
    """
    for snap in ancestry(table, snapshot_id):
        if key in summary(snap):
            return snap
    return None


def newest_property(table: Table, snapshot_id: int | None, key: str) -> str | None:
    """The newest value of summary property ``key`` in the history of ``snapshot_id``."""
    return summary(newest_with(table, snapshot_id, key)).get(key)


def newest_json(table: Table, snapshot_id: int | None, key: str, default: Any = None) -> Any:  # Any: JSON
    """:func:`newest_property` parsed as JSON (``default`` when no commit recorded it)."""
    value = newest_property(table, snapshot_id, key)
    return json.loads(value) if value is not None else default


@dataclass(frozen=True)
class SchemaChange:
    """What one schema changed over another, by Iceberg field id (a rename keeps the id)."""

    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    retyped: tuple[str, ...] = ()  # "name: old -> new"
    renamed: tuple[str, ...] = ()  # "old -> new"

    def __bool__(self) -> bool:
        return bool(self.added or self.dropped or self.retyped or self.renamed)


def schema_of(table: Table, snapshot_id: int | None) -> Schema:
    """The schema ``snapshot_id`` was written with (the table's current one when the snapshot names none)."""
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    if snapshot is None or snapshot.schema_id is None:
        return table.schema()
    return table.schemas()[snapshot.schema_id]


def schema_change(old: Schema, new: Schema) -> SchemaChange:
    """Top-level columns of ``new`` added, dropped, retyped or renamed over ``old`` (pyiceberg schemas)."""
    before = {f.field_id: f for f in old.fields}
    after = {f.field_id: f for f in new.fields}
    both = sorted(before.keys() & after.keys())
    return SchemaChange(
        added=tuple(after[i].name for i in sorted(after.keys() - before.keys())),
        dropped=tuple(before[i].name for i in sorted(before.keys() - after.keys())),
        retyped=tuple(f"{after[i].name}: {before[i].field_type} -> {after[i].field_type}" for i in both
                      if before[i].field_type != after[i].field_type),
        renamed=tuple(f"{before[i].name} -> {after[i].name}" for i in both if before[i].name != after[i].name),
    )
