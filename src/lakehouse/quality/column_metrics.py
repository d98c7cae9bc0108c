"""Column metrics per run (``audit.column_metrics``) and their anomaly checks against a learned baseline.

Every audit and nightly run profiles each column of every Silver and Gold table
it validates, in the suites' own pass (:mod:`lakehouse.quality.suites.profile`):
null rate, distinct ratio, and min/max/mean/p50/p95 for numerics; the audit
also profiles the run's change (scope ``increment``), where a bad batch is not
diluted by history. Each metric is compared with the same metric of the last N
comparable runs of the DAG (:mod:`lakehouse.quality.baseline`: runs whose gate
did not fail, optionally of the same weekday/hour): outside median ± k·MAD is
a WARN naming the column, the metric, the value and the band.
"""

from __future__ import annotations

import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.names import COLUMN_METRICS_TABLE, layer_of, run_properties
from lakehouse.iceberg.catalog import ensure_table, get_catalog
from lakehouse.iceberg.filters import all_of, equal, less_than, one_of
from lakehouse.quality.baseline import Band, Point, comparable, robust_band

if TYPE_CHECKING:
    from pyiceberg.table import Table

MetricKey = tuple[str, str, str, str]  # (table, scope, column, metric)

WHOLE_TABLE = "table"  # the scope of a metric over the whole table (else the scope the suite ran on)
RATES = ("null_rate", "distinct_ratio")  # shares in [0, 1]: their spread is at least 1 point
STATISTICS = ("min", "max", "mean", "p50", "p95")  # numerics only
METRICS = (*RATES, *STATISTICS)
RATE_FLOOR = 0.01
RANGE_SHARE = 0.01
MAX_NAMED = 10  # anomalies a check's details name; the observed count has them all

SCHEMA = pa.schema([
    pa.field("dag_id", pa.string(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("table_name", pa.string(), nullable=False),
    pa.field("scope", pa.string(), nullable=False),
    pa.field("column_name", pa.string(), nullable=False),
    pa.field("metric", pa.string(), nullable=False),
    pa.field("value", pa.float64()),
    pa.field("rows", pa.int64()),
    pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
])


@dataclass(frozen=True)
class ColumnMetric:
    """One metric of one column of one table (or of the run's change to it)."""

    table: str
    scope: str
    column: str
    metric: str
    value: float | None
    rows: int


def from_profile(table: str, scope: str, column: str, observed: dict[str, Any],
                 sketched: dict[str, float | None]) -> list[ColumnMetric]:
    """Metrics of one column from the suite pass's ``observed`` profile and the sample's ``sketched`` one."""
    rows = int(observed.get("rows") or 0)
    values: dict[str, float | None] = {
        "null_rate": round(1 - observed["non_null"] / rows, 6) if rows else None, **sketched,
        **{k: observed.get(k) for k in ("min", "max", "mean") if k in observed}}
    return [ColumnMetric(table, scope or WHOLE_TABLE, column, m, None if (v := values[m]) is None else float(v), rows)
            for m in METRICS if m in values]


# ---- the table ------------------------------------------------------------------

def _table(settings: Settings) -> Table:
    return ensure_table(get_catalog(settings), COLUMN_METRICS_TABLE, SCHEMA)


def record_metrics(settings: Settings, *, dag_id: str, run_id: str, source: str,
                   metrics: list[ColumnMetric]) -> int:
    """Replace this (dag, run, source)'s metrics in one commit, so a retried task never doubles them."""
    now = datetime.now(UTC)
    rows = [{"dag_id": dag_id, "run_id": run_id, "source": source, "table_name": m.table, "scope": m.scope,
             "column_name": m.column, "metric": m.metric, "value": m.value, "rows": m.rows, "recorded_at": now}
            for m in metrics]
    with warnings.catch_warnings():  # the first record of a run has nothing to replace
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        _table(settings).overwrite(
            pa.Table.from_pylist(rows, schema=SCHEMA),
            overwrite_filter=all_of(equal("dag_id", dag_id), equal("run_id", run_id), equal("source", source)),
            snapshot_properties=run_properties(dag_id, run_id))
    return len(rows)


def metric_history(settings: Settings, dag_id: str, tables: set[str]) -> dict[MetricKey, list[Point]]:
    """``{(table, scope, column, metric): [Point(run, recorded_at, value), ...]}`` of ``dag_id``'s runs."""
    scan = _table(settings).scan(row_filter=all_of(equal("dag_id", dag_id), one_of("table_name", tables)) if tables
                                 else equal("dag_id", dag_id))
    out: dict[MetricKey, list[Point]] = defaultdict(list)
    for r in scan.to_arrow().to_pylist():
        if r["value"] is not None:
            out[(r["table_name"], r["scope"], r["column_name"], r["metric"])].append(
                Point(r["run_id"], r["recorded_at"], r["value"]))
    return out


def prune_metrics(settings: Settings, older_than: float) -> int:
    """Delete metrics recorded before ``older_than`` (epoch seconds), as the check history is pruned."""
    table = _table(settings)
    cutoff = less_than("recorded_at", datetime.fromtimestamp(older_than, UTC).isoformat())
    old = int(table.scan(row_filter=cutoff, selected_fields=("metric",)).count())
    if old:
        table.delete(cutoff)
    return old


# ---- the anomaly checks -----------------------------------------------------------

def band_of(metric: str, values: list[float], k: float, scale: float = 0.0) -> Band:
    """median ± k·spread, the spread (MAD as σ) floored: 1 point for a rate; for a statistic 5 % of its median
    and 1 % of the column's range (median max − median min), since a min or max of a sample jumps by its
    spacing, not by a share of itself."""
    floor = RATE_FLOOR if metric in RATES else max(RANGE_SHARE * scale, 1e-9)
    return robust_band(values, k, relative_floor=0.05, absolute_floor=floor)


def anomaly_checks(metrics: list[ColumnMetric], history: dict[MetricKey, list[Point]], *, run_id: str,
                   failed_runs: set[str], season: str = "", k: float = 4.0, window: int = 14,
                   min_runs: int = 3, now: datetime | None = None) -> list[CheckResult]:
    """One check per (table, scope): every metric of this run against its comparable runs' band."""
    now = now or datetime.now(UTC)
    baselines = {}
    for m in metrics:
        previous = [p for p in history.get(_key(m), []) if p.run_id != run_id]
        baselines[_key(m)] = [p.value for p in comparable(previous, now=now, failed_runs=failed_runs,
                                                          season=season, window=window)]
    by_scope: dict[tuple[str, str], list[ColumnMetric]] = defaultdict(list)
    for m in metrics:
        by_scope[(m.table, m.scope)].append(m)
    out = []
    for (table, scope), group in sorted(by_scope.items()):
        judged, outside, runs = 0, [], 0
        for m in group:
            baseline = baselines[_key(m)]
            if m.value is None or len(baseline) < min_runs:
                continue
            band = band_of(m.metric, baseline, k, _range(baselines, m))
            judged, runs = judged + 1, max(runs, band.runs)
            if not band.contains(m.value):
                outside.append(f"{m.column}.{m.metric} = {m.value:g} outside [{band.low:g}, {band.high:g}] "
                               f"(median {band.median:g} of {band.runs} runs)")
        out.append(_verdict(table, scope, layer_of(table), judged, outside, len(group), runs, min_runs))
    return out


def _key(m: ColumnMetric) -> tuple[str, str, str, str]:
    return (m.table, m.scope, m.column, m.metric)


def _range(baselines: dict[MetricKey, list[float]], m: ColumnMetric) -> float:
    """The column's typical range in its baseline: median of its max − median of its min (0 if unknown)."""
    low, high = (baselines.get((m.table, m.scope, m.column, name)) for name in ("min", "max"))
    return statistics.median(high) - statistics.median(low) if low and high else 0.0


def _verdict(table: str, scope: str, layer: str, judged: int, outside: list[str], total: int, runs: int,
             min_runs: int) -> CheckResult:
    check_id = f"metrics.{table}" + ("" if scope == WHOLE_TABLE else f".{scope}")
    threshold = "each metric within median ± k·MAD of its comparable runs"
    if not judged:
        return CheckResult(check_id, layer, table, Status.SKIP, 0, threshold,
                           f"{total} metric(s) recorded; fewer than {min_runs} comparable runs to judge them")
    details = (f"{len(outside)} of {judged} metric(s) outside their band: " + "; ".join(outside[:MAX_NAMED])
               if outside else f"{judged} metric(s) within their bands over up to {runs} comparable runs")
    return CheckResult(check_id, layer, table, Status.WARN if outside else Status.PASS, len(outside), threshold,
                       details)


def metric_checks(settings: Settings, *, dag_id: str, run_id: str, metrics: list[ColumnMetric]) -> list[CheckResult]:
    """:func:`anomaly_checks` with this DAG's recorded history; runs that recorded a FAIL stay out."""
    from lakehouse.quality.store import failed_runs

    if not metrics:
        return []
    history = metric_history(settings, dag_id, {m.table for m in metrics})
    return anomaly_checks(metrics, history, run_id=run_id, failed_runs=failed_runs(settings, dag_id),
                          season=settings.baseline_season, k=settings.metrics_mad_k,
                          window=settings.volume_window)
