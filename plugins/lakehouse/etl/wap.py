"""Write-Audit-Publish on Iceberg branches.

A run writes Silver and Gold to a branch named after the Airflow run
(``spark.wap.branch``: reads and writes of WAP-enabled tables then use the
branch), the audit validates that branch, and publishing fast-forwards
``main`` to it with Iceberg's own ``fast_forward`` procedure. A failed audit
leaves ``main`` untouched and the branch in place for inspection.
"""

from __future__ import annotations

import contextlib
import re

from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE, SCORE_REFERENCE_TABLE

WAP_TABLES = tuple([e.silver_table for e in ENTITIES.values()]
                   + [QUARANTINE_TABLE, GOLD_SUMMARY_TABLE, SCORE_REFERENCE_TABLE])


def branch_name(run_id: str) -> str:
    """``audit_<run id>`` with every character Iceberg/SQL identifiers dislike replaced."""
    return "audit_" + re.sub(r"[^A-Za-z0-9_]", "_", run_id or "manual")[:120]


def refs(spark, table: str) -> dict[str, int]:
    return {r.name: r.snapshot_id for r in spark.sql(f"SELECT name, snapshot_id FROM lake.{table}.refs").collect()}


def effective_ref(spark, table: str, branch: str | None) -> str:
    """``branch`` if ``table`` has it, else ``main``: a table the run did not write is read as published."""
    from lakehouse.etl.tables import snapshot_id

    return branch if branch and snapshot_id(spark, table, branch) is not None else "main"


def read_as_of(spark, table: str, branch: str | None):
    """``table`` as the run sees it: its branch if it has one, else ``main``."""
    return spark.read.option("branch", effective_ref(spark, table, branch)).table(f"lake.{table}")


def ensure_branch(spark, table: str, branch: str) -> None:
    spark.sql(f"ALTER TABLE lake.{table} CREATE BRANCH IF NOT EXISTS `{branch}`")


@contextlib.contextmanager
def writing_to(spark, branch: str | None):
    """Route reads and writes of WAP-enabled tables to ``branch`` (no-op when None)."""
    if not branch:
        yield
        return
    previous = spark.conf.get("spark.wap.branch", None)
    spark.conf.set("spark.wap.branch", branch)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset("spark.wap.branch")
        else:
            spark.conf.set("spark.wap.branch", previous)


def publish(spark, branch: str, tables=WAP_TABLES) -> dict[str, dict]:
    """Fast-forward ``main`` of every table that has ``branch``, then drop the branch. Idempotent."""
    out = {}
    for table in tables:
        if not spark.catalog.tableExists(f"lake.{table}") or branch not in refs(spark, table):
            continue
        row = spark.sql(f"CALL lake.system.fast_forward('{table}', 'main', '{branch}')").first()
        out[table] = {"previous": row.previous_ref, "main": row.updated_ref}
    for table in out:  # drop only once every table is published, so a crash can re-run publish
        spark.sql(f"ALTER TABLE lake.{table} DROP BRANCH IF EXISTS `{branch}`")
    return out


def run_publish(spark, *, branch: str | None = None, **_) -> dict:
    if not branch:
        return {"branch": None, "published": {}}
    return {"branch": branch, "published": publish(spark, branch)}
