"""``audit.check_results``: every check of every run, one row each (the history anomaly checks read)."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.names import CHECK_RESULTS_TABLE, run_properties
from lakehouse.iceberg.catalog import ensure_table, get_catalog
from lakehouse.iceberg.filters import all_of, equal, less_than, starts_with
from lakehouse.quality.baseline import Point

if TYPE_CHECKING:
    from pyiceberg.table import Table


SCHEMA = pa.schema([
    pa.field("dag_id", pa.string(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),  # the task that ran the checks
    pa.field("check_id", pa.string(), nullable=False),
    pa.field("layer", pa.string()),
    pa.field("table_name", pa.string()),
    pa.field("status", pa.string(), nullable=False),
    pa.field("observed", pa.string()),
    pa.field("threshold", pa.string()),
    pa.field("details", pa.string()),
    pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
])


def _table(settings: Settings) -> Table:
    """Unpartitioned: every ``record`` writes one small file whose ``recorded_at``/``run_id`` bounds let a
    scan skip other runs' files and a prune by age drop whole files without rewriting (pyiceberg needs no
    native transforms for that)."""
    return ensure_table(get_catalog(settings), CHECK_RESULTS_TABLE, SCHEMA)


def record(settings: Settings, *, dag_id: str, run_id: str, source: str, results: list[CheckResult]) -> int:
    """Replace this (dag, run, source)'s rows with ``results`` in one commit, so a retried task never doubles them."""
    now = datetime.now(UTC)
    rows = [{
        "dag_id": dag_id, "run_id": run_id, "source": source, "check_id": r.check_id, "layer": r.layer,
        "table_name": r.table, "status": str(r.status),
        "observed": None if r.observed is None else json.dumps(r.observed, default=str),
        "threshold": r.threshold, "details": r.details, "recorded_at": now,
    } for r in results]
    table = _table(settings)
    with warnings.catch_warnings():  # the first record of a run has nothing to replace
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table.overwrite(
            pa.Table.from_pylist(rows, schema=SCHEMA),
            overwrite_filter=all_of(equal("dag_id", dag_id), equal("run_id", run_id), equal("source", source)),
            snapshot_properties=run_properties(dag_id, run_id),
        )
    return len(rows)


def history(settings: Settings, dag_id: str | None = None, *, run_id: str | None = None,
            check_prefix: str | None = None) -> list[dict[str, Any]]:
    """Recorded rows, filtered in the scan (only matching files are read): a DAG, a run, a check id prefix."""
    terms = [t for t in (equal("dag_id", dag_id) if dag_id else None,
                         equal("run_id", run_id) if run_id else None,
                         starts_with("check_id", check_prefix) if check_prefix else None) if t is not None]
    rows: list[dict[str, Any]] = _table(settings).scan(row_filter=all_of(*terms)).to_arrow().to_pylist()
    return rows


def prune_history(settings: Settings, older_than: float) -> int:
    """Delete rows recorded before ``older_than`` (epoch seconds); files wholly older go without rewrites."""
    table = _table(settings)
    cutoff = less_than("recorded_at", datetime.fromtimestamp(older_than, UTC).isoformat())
    old = int(table.scan(row_filter=cutoff, selected_fields=("check_id",)).count())
    if old:
        table.delete(cutoff)
    return old


def failed_runs(settings: Settings, dag_id: str) -> set[str]:
    """The runs of ``dag_id`` that recorded a FAIL, i.e. whose gate failed (it fails on any FAIL)."""
    rows = _table(settings).scan(row_filter=all_of(equal("dag_id", dag_id), equal("status", str(Status.FAIL))),
                                 selected_fields=("run_id",)).to_arrow()
    return set(rows["run_id"].to_pylist())


def run_results(settings: Settings, dag_id: str, run_id: str) -> list[CheckResult]:
    """Every check any task of this run recorded (the gate's and the report's input)."""
    rows = sorted(history(settings, dag_id, run_id=run_id), key=lambda r: (r["source"], r["recorded_at"]))
    return [CheckResult(r["check_id"], r["layer"] or "", r["table_name"] or "", Status(r["status"]),
                        None if r["observed"] is None else json.loads(r["observed"]),
                        r["threshold"] or "", r["details"] or "", extra={"source": r["source"]})
            for r in rows]


def volume_history(settings: Settings, dag_id: str) -> dict[str, list[Point]]:
    """``{table: [Point(run, recorded_at, rows), ...]}`` of the runs' ``volume.<table>`` checks, oldest first:
    what the volume check's baseline and the report's trend are made of."""
    out: dict[str, list[Point]] = {}
    for r in sorted(history(settings, dag_id, check_prefix="volume."), key=lambda r: r["recorded_at"]):
        if r["check_id"].startswith("volume.") and r["observed"] not in (None, "null"):
            out.setdefault(r["table_name"], []).append(
                Point(r["run_id"], r["recorded_at"], int(json.loads(r["observed"]))))
    return out


def row_count_trend(settings: Settings, dag_id: str, last: int = 14) -> dict[str, list[dict[str, Any]]]:
    """``{table: [{run_id, recorded_at, rows}, ...]}`` of the last runs' ``volume.<table>`` checks, oldest first."""
    return {table: [{"run_id": p.run_id, "recorded_at": p.at.isoformat(), "rows": p.value} for p in points[-last:]]
            for table, points in volume_history(settings, dag_id).items()}
