"""Freshness and volume anomalies: the checks that catch a pipeline that is valid but quiet.

- freshness: the newest commit of a table is younger than a configurable age;
- volume: each run records a table's row total (``volume.<table>``); the run's
  growth is compared with the growth of the last N comparable runs in
  ``audit.check_results`` (runs whose gate passed, optionally of the same
  season: :mod:`lakehouse.quality.baseline`), and a delta outside median ± k·MAD
  is a WARN. A silent 90 % drop is caught even when every row that did arrive
  is valid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lakehouse.core.checks import CheckResult, Status
from lakehouse.quality.baseline import Point, comparable, robust_band

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from lakehouse.config import Settings


def freshness(table_name: str, layer: str, last_commit: datetime | None, max_age_hours: float,
              now: datetime | None = None) -> CheckResult:
    now = now or datetime.now(UTC)
    check_id = f"freshness.{table_name}"
    if last_commit is None:
        return CheckResult(check_id, layer, table_name, Status.FAIL, None, f"<= {max_age_hours}h",
                           "table has no commit")
    age_h = round((now - last_commit).total_seconds() / 3600, 3)
    status = Status.PASS if age_h <= max_age_hours else Status.FAIL
    return CheckResult(check_id, layer, table_name, status, age_h, f"<= {max_age_hours}h",
                       f"newest commit {last_commit.isoformat()}")


def table_freshness(table: Table | None, table_name: str, layer: str, max_age_hours: float) -> CheckResult:
    """Freshness of a pyiceberg table's ``main``."""
    snap = table.current_snapshot() if table is not None else None
    last = datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC) if snap else None
    return freshness(table_name, layer, last, max_age_hours)


def volume_anomaly(table_name: str, layer: str, current_total: int, history: list[Point], *, now: datetime | None = None,
                   failed_runs: frozenset[str] | set[str] = frozenset(), season: str = "", k: float = 3.0,
                   window: int = 14, min_runs: int = 3) -> CheckResult:
    """This run's growth vs the growth of the last ``window`` comparable runs (:mod:`lakehouse.quality.baseline`).

    ``history``: earlier runs' totals. Each run's growth is its total minus the run before it; the growth of
    a run whose gate failed, or of another season, is left out of the baseline.
    """
    check_id = f"volume.{table_name}"
    now = now or datetime.now(UTC)
    ordered = sorted(history, key=lambda p: p.at)
    growth = [Point(b.run_id, b.at, b.value - a.value) for a, b in zip(ordered, ordered[1:], strict=False)]
    baseline = comparable(growth, now=now, failed_runs=failed_runs, season=season, window=window)
    today = current_total - ordered[-1].value if ordered else current_total
    if len(baseline) < min_runs:
        return CheckResult(check_id, layer, table_name, Status.SKIP, current_total, f"needs {min_runs} runs",
                           f"{len(baseline)} comparable run(s) of growth{_season(season)}: too few to judge")
    band = robust_band([p.value for p in baseline], k)
    status = Status.PASS if band.contains(today) else Status.WARN
    return CheckResult(check_id, layer, table_name, status, current_total, f"growth within {band}",
                       f"this run added {today:g} rows; median of the last {band.runs} comparable runs "
                       f"{band.median:g}{_season(season)}", extra={"delta": today})


def _season(season: str) -> str:
    return f" (same {season.replace('_', ' and ')})" if season else ""


def volume_checks(settings: Settings, dag_id: str, totals: dict[str, tuple[str, int]], *,
                  run_id: str = "") -> list[CheckResult]:
    """``totals``: table -> (layer, current rows). History: earlier runs' ``volume.<table>`` rows; runs that
    recorded a FAIL stay out of the baseline. The band is the settings' (``volume_mad_k``, ``volume_window``)."""
    from lakehouse.quality.store import failed_runs, volume_history

    recorded = volume_history(settings, dag_id)
    failed = failed_runs(settings, dag_id)
    out = []
    for table_name, (layer, current) in totals.items():
        previous = [p for p in recorded.get(table_name, []) if p.run_id != run_id]
        out.append(volume_anomaly(table_name, layer, current, previous, failed_runs=failed,
                                  season=settings.baseline_season, k=settings.volume_mad_k,
                                  window=settings.volume_window))
    return out
