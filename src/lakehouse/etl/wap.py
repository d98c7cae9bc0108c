"""Write-Audit-Publish on Iceberg branches: publishing.

A run writes Silver and Gold to its branch (:func:`lakehouse.core.names.run_branch`;
``spark.wap.branch`` routes the writes, see :func:`lakehouse.spark.tables.writing_to`),
the audit validates that branch, and publishing fast-forwards ``main`` to it.
A failed audit leaves ``main`` untouched and the branch in place for inspection.

Publishing needs no Spark: it moves refs. Per table it is one pyiceberg commit
that sets ``main`` to the branch head and removes the branch, guarded by
Iceberg's ``assert-ref-snapshot-id`` on both refs, so a ``main`` that moved after
the check below makes the commit fail instead of being overwritten.

Publishing checks every table first: ``main`` must still be an ancestor of the
run's branch head. If another run published in between (``kol_transform`` and
``kol_platform_e2e`` at once), nothing is moved and the run fails without
retries; the next transform run processes the increment on the new ``main``.
So a run publishes all its tables or none; a crash part-way leaves the rest
with their branch, and a re-run publishes those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lakehouse.core.errors import PublishConflictError
from lakehouse.core.names import MAIN, WAP_TABLES
from lakehouse.iceberg.catalog import get_catalog, mark_first_publish
from lakehouse.iceberg.snapshots import is_in_history, table_or_none

if TYPE_CHECKING:
    from pyiceberg.table import Table


def refs(table: str) -> dict[str, int]:
    """``{ref name: snapshot id}`` of ``table`` (empty when it does not exist)."""
    meta = table_or_none(get_catalog(), table)
    return {name: ref.snapshot_id for name, ref in meta.refs().items()} if meta is not None else {}


def publishable(branch: str, tables: Sequence[str] = WAP_TABLES) -> dict[str, Table]:
    """``{name: loaded table}`` of the tables that have ``branch``, after checking each can fast-forward
    ``main`` to it.

    Raises :class:`PublishConflictError` naming every table whose ``main`` is no longer
    an ancestor of the branch head; nothing has been moved then.
    """
    catalog, ready, conflicts = get_catalog(), {}, []
    for name in tables:
        table = table_or_none(catalog, name)
        if table is None or branch not in (heads := {ref: r.snapshot_id for ref, r in table.refs().items()}):
            continue
        if heads.get(MAIN) is not None and not is_in_history(table, heads[MAIN], heads[branch]):
            conflicts.append(f"{name} (main {heads[MAIN]} is not in the history of {branch} {heads[branch]})")
        ready[name] = table
    if conflicts:
        raise PublishConflictError(
            f"cannot publish {branch}: main moved since this run branched (another run published?): "
            f"{'; '.join(conflicts)}. Nothing was published; the branch is kept and the next transform run "
            f"processes this increment on the new main.")
    return ready


def publish(branch: str, tables: Sequence[str] = WAP_TABLES) -> dict[str, dict[str, int | None]]:
    """Fast-forward ``main`` of every table that has ``branch`` (all or none) and drop the branch. Idempotent."""
    out: dict[str, dict[str, int | None]] = {}
    for name, table in publishable(branch, tables).items():
        previous, head = table.refs().get(MAIN), table.refs()[branch].snapshot_id
        with table.manage_snapshots() as refs_update:  # one commit: main -> head, branch gone
            refs_update.create_branch(head, MAIN).remove_branch(branch)
        out[name] = {"previous": previous.snapshot_id if previous else None, "main": head}
    if out:
        from datetime import UTC, datetime

        mark_first_publish(get_catalog(), f"{branch} at {datetime.now(UTC).isoformat(timespec='seconds')}")
    return out
