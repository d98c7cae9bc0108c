"""Write-Audit-Publish on Iceberg branches: publishing.

A run writes Silver and Gold to its branch (:func:`lakehouse.core.names.run_branch`;
``spark.wap.branch`` routes the writes, see :func:`lakehouse.spark.tables.writing_to`),
the audit validates that branch, and publishing fast-forwards ``main`` to it
with Iceberg's own ``fast_forward`` procedure. A failed audit leaves ``main``
untouched and the branch in place for inspection.
"""

from __future__ import annotations

from lakehouse.core.entities import WAP_TABLES
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import table_or_none
from lakehouse.spark.tables import qualified


def refs(table: str) -> dict[str, int]:
    """``{ref name: snapshot id}`` of ``table`` (empty when it does not exist)."""
    meta = table_or_none(get_catalog(), table)
    return {name: ref.snapshot_id for name, ref in meta.refs().items()} if meta is not None else {}


def publish(spark, branch: str, tables=WAP_TABLES) -> dict[str, dict]:
    """Fast-forward ``main`` of every table that has ``branch``, then drop the branch. Idempotent."""
    out = {}
    for table in tables:
        if branch not in refs(table):
            continue
        row = spark.sql(f"CALL lake.system.fast_forward('{table}', 'main', '{branch}')").first()
        out[table] = {"previous": row.previous_ref, "main": row.updated_ref}
    for table in out:  # drop only once every table is published, so a crash can re-run publish
        spark.sql(f"ALTER TABLE {qualified(table)} DROP BRANCH IF EXISTS `{branch}`")
    return out
