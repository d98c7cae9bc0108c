"""``kol_lake_maintenance``: keep a year of 15-minute commits cheap, with Iceberg's own Spark procedures.

Per table, each action one atomic Iceberg commit (a failure leaves the table
as the last action left it, valid) and one check row with what it removed and
the table's files on disk before and after:

1. ``rewrite_data_files``: compact small files (Bronze's per-batch appends) and
   apply merge-on-read deletes;
2. ``rewrite_position_delete_files``: merge the delete files of merge-on-read tables;
3. ``rewrite_manifests``: one manifest per partition instead of one per commit;
4. ``expire_snapshots``: by age and count, never a snapshot bookkeeping or lineage
   still reads (:mod:`lakehouse.iceberg.retention`); audit branches older than
   ``history.expire.max-ref-age-ms`` go with it;
5. ``remove_orphan_files``: files no snapshot references, older than a safety age.

Then the check history, column metrics, report files and OpenLineage event files older than their retention are pruned.
Writers never run at the same time: every lakehouse task takes one slot of the
``lakehouse_lake`` pool, this one takes all of them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.entities import MAINTAINED_TABLES, MERGE_ON_READ_TABLES
from lakehouse.core.names import COLUMN_METRICS_TABLE, LINEAGE_EVENTS_FILE, layer_of
from lakehouse.iceberg.catalog import METADATA_RETENTION, get_catalog
from lakehouse.iceberg.retention import expire_before_ms, protected_snapshots
from lakehouse.iceberg.snapshots import table_or_none
from lakehouse.quality.column_metrics import prune_metrics
from lakehouse.quality.report import prune_reports
from lakehouse.quality.store import prune_history, record
from lakehouse.spark.tables import qualified, timestamp_literal

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyspark.sql import SparkSession

SOURCE = "maintenance"
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Policy:
    """Retention of one maintenance run (settings, overridden by the DAG's Params)."""

    snapshot_retention_hours: float
    retain_last: int
    branch_retention_hours: float
    orphan_min_age_hours: float
    check_history_days: float
    report_retention_days: float

    @classmethod
    def from_params(cls, settings: Settings, params: dict | None) -> Policy:
        """Each field from the Param of the same name when given, else the setting."""
        params = params or {}
        defaults = {f.name: getattr(settings, f.name, None) for f in fields(cls)}
        defaults["retain_last"] = settings.snapshot_retain_last
        return cls(**{name: (int if name == "retain_last" else float)(params[name])
                      if params.get(name) is not None else value for name, value in defaults.items()})


def maintain_lake(spark: SparkSession, *, dag_id: str = "", run_id: str = "", params: dict[str, Any] | None = None, **_: object) -> dict[str, Any]:
    """Every maintenance action on the selected tables, then history pruning; each a recorded check."""
    settings = get_settings()
    policy = Policy.from_params(settings, params)
    tables = tuple((params or {}).get("tables") or MAINTAINED_TABLES)
    catalog = get_catalog(settings)
    protected = protected_snapshots(catalog, MAINTAINED_TABLES)  # lineage crosses tables: always all of them
    results: list[CheckResult] = []
    for name in tables:
        if table_or_none(catalog, name) is not None:
            results += maintain_table(spark, catalog, name, protected.get(name, set()), policy)
    results += prune_checks(settings, policy, now=datetime.now(UTC))
    record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=results)
    failed = [r for r in results if r.status == Status.FAIL]
    if failed:
        raise RuntimeError("maintenance failed (tables stay valid, a retry resumes): "
                           + "; ".join(f"{r.check_id}: {r.details}" for r in failed))
    return {"checks": [r.to_dict() for r in results], "tables": list(tables)}


def maintain_table(spark: SparkSession, catalog: Catalog, name: str, protected: set[int], policy: Policy) -> list[CheckResult]:
    """The five actions on one table, in order; a failed action is a FAIL row and the next still runs."""
    now_ms = int(time.time() * 1000)
    set_retention_properties(spark, name, policy)
    actions = [("rewrite_data_files", "options => map('min-input-files', '2', 'delete-file-threshold', '1')")]
    if name in MERGE_ON_READ_TABLES:
        actions.append(("rewrite_position_delete_files", "options => map('rewrite-all', 'true')"))
    actions.append(("rewrite_manifests", ""))
    older = expire_before_ms(catalog.load_table(name), protected, now_ms - int(policy.snapshot_retention_hours * HOUR_MS))
    actions.append(("expire_snapshots", f"older_than => {timestamp_literal(older)}, retain_last => {policy.retain_last}"))
    orphans = now_ms - int(policy.orphan_min_age_hours * HOUR_MS)
    actions.append(("remove_orphan_files", f"older_than => {timestamp_literal(orphans)}"))
    results, footprint = [], table_footprint(catalog, name)
    for action, args in actions:  # each action's "after" is the next one's "before"
        result, footprint = run_action(spark, catalog, name, action, args, footprint)
        results.append(result)
    return results


def set_retention_properties(spark: SparkSession, name: str, policy: Policy) -> None:
    """Metadata-file retention and the age after which an audit branch is dropped by ``expire_snapshots``."""
    props = {**METADATA_RETENTION, "history.expire.max-ref-age-ms": str(int(policy.branch_retention_hours * HOUR_MS))}
    spark.sql(f"ALTER TABLE {qualified(name)} SET TBLPROPERTIES ("
              + ", ".join(f"'{k}' = '{v}'" for k, v in props.items()) + ")")


def run_action(spark: SparkSession, catalog: Catalog, name: str, action: str, args: str, before: dict) -> tuple[CheckResult, dict]:
    """``CALL lake.system.<action>(table => name, args)``, as a check row with disk usage ``before`` and after
    (returned with it)."""
    check_id = f"maintenance.{action}.{name}"
    started = time.monotonic()
    try:
        rows = spark.sql(f"CALL lake.system.{action}(table => '{name}'{', ' + args if args else ''})").collect()
    except Exception as exc:  # the procedure's commit did not happen: the table is as before
        return CheckResult(check_id, layer_of(name), name, Status.FAIL, None, "completes",
                           f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"), before
    after = table_footprint(catalog, name)
    outcome = _outcome(action, rows)
    return CheckResult(check_id, layer_of(name), name, Status.PASS, outcome, "completes",
                       f"snapshots {before['snapshots']} -> {after['snapshots']}, refs {before['refs']} -> "
                       f"{after['refs']}, files {before['files']} -> {after['files']}, bytes {before['bytes']} -> "
                       f"{after['bytes']} ({time.monotonic() - started:.1f}s)"), after


def _outcome(action: str, rows) -> dict:
    if action == "remove_orphan_files":
        return {"orphan_files_removed": len(rows)}
    return {k: v for k, v in rows[0].asDict().items() if isinstance(v, int)} if rows else {}


def table_footprint(catalog: Catalog, name: str) -> dict:
    """Snapshots and refs of the table, and its files and bytes on disk (None for a non-local warehouse)."""
    table = catalog.load_table(name)
    files = size = None
    parts = urlsplit(table.location())
    if parts.scheme in ("", "file"):
        files = size = 0
        for root, _, names in os.walk(parts.path):
            for n in names:
                files += 1
                size += os.path.getsize(os.path.join(root, n))
    return {"snapshots": len(table.snapshots()), "refs": len(table.refs()), "files": files, "bytes": size}


def prune_checks(settings: Settings, policy: Policy, now: datetime) -> list[CheckResult]:
    """Check history rows, report files and lineage event files older than their retention, removed; one
    check row each."""
    history_cutoff = now.timestamp() - policy.check_history_days * 86400
    rows = prune_history(settings, older_than=history_cutoff)
    metrics = prune_metrics(settings, older_than=history_cutoff)
    report_cutoff = now.timestamp() - policy.report_retention_days * 86400
    files = prune_reports(settings.reports_dir, older_than=report_cutoff)
    events = prune_lineage_events(settings.lineage_dir, older_than=report_cutoff, now=now)
    return [
        CheckResult("maintenance.prune.check_history", "audit", "audit.check_results", Status.PASS,
                    {"rows_removed": rows}, "completes", f"rows recorded over {policy.check_history_days:g} days ago"),
        CheckResult("maintenance.prune.column_metrics", "audit", COLUMN_METRICS_TABLE, Status.PASS,
                    {"rows_removed": metrics}, "completes",
                    f"rows recorded over {policy.check_history_days:g} days ago"),
        CheckResult("maintenance.prune.reports", "audit", str(settings.reports_dir.name), Status.PASS,
                    {"files_removed": files}, "completes",
                    f"report files and GX validation results/pages over {policy.report_retention_days:g} days "
                    "old (latest.* kept)"),
        CheckResult("maintenance.prune.lineage_events", "audit", str(settings.lineage_dir.name), Status.PASS,
                    events, "completes",
                    f"OpenLineage event files whose newest event is over {policy.report_retention_days:g} days "
                    "old (the current file is rotated first)"),
    ]


def prune_lineage_events(lineage_dir: Path, older_than: float, now: datetime) -> dict[str, Any]:
    """Rotate the OpenLineage file transport's events file, then delete rotated files last written before
    ``older_than`` (epoch seconds).

    Rotation is a rename: the transport opens the file by name for each event, so the next event starts a
    new file and none is lost, and a rotated file's mtime is its newest event's time.
    """
    current = lineage_dir / LINEAGE_EVENTS_FILE
    rotated = 0
    if current.is_file() and current.stat().st_size:
        current.rename(current.with_name(f"{current.stem}-{now:%Y%m%dT%H%M%S}{current.suffix}"))
        rotated = 1
    removed = 0
    for path in lineage_dir.glob(f"{current.stem}-*{current.suffix}") if lineage_dir.is_dir() else ():
        if path.stat().st_mtime < older_than:
            path.unlink()
            removed += 1
    return {"files_rotated": rotated, "files_removed": removed}

