"""Freshness and volume anomalies: the checks that catch a pipeline that is valid but quiet.

- freshness: the newest commit of a table is younger than a configurable age;
- volume: each run records a table's row total (``volume.<table>``); the run's
  growth is compared with the growth of the last N runs in
  ``audit.check_results``, and a delta outside median ± k·MAD is a WARN. A
  silent 90 % drop is caught even when every row that did arrive is valid.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from lakehouse.core.checks import CheckResult, Status

MAD_TO_SIGMA = 1.4826  # scales the median absolute deviation to a normal's standard deviation


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


def table_freshness(table, table_name: str, layer: str, max_age_hours: float) -> CheckResult:
    """Freshness of a pyiceberg table's ``main``."""
    snap = table.current_snapshot() if table is not None else None
    last = datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC) if snap else None
    return freshness(table_name, layer, last, max_age_hours)


def volume_anomaly(table_name: str, layer: str, current_total: int, previous_totals: list[int], *,
                   k: float = 3.0, window: int = 14, min_runs: int = 3) -> CheckResult:
    """This run's growth vs the growth of the last ``window`` runs (totals in run order, oldest first)."""
    check_id = f"volume.{table_name}"
    totals = [*previous_totals[-(window + 1):], current_total]
    deltas = [b - a for a, b in zip(totals, totals[1:], strict=False)]
    if len(deltas) < min_runs + 1:
        return CheckResult(check_id, layer, table_name, Status.SKIP, current_total, f"needs {min_runs} runs",
                           f"history of {len(deltas)} delta(s) is too short to judge")
    today, history = deltas[-1], deltas[:-1]
    median = statistics.median(history)
    mad = statistics.median(abs(d - median) for d in history) * MAD_TO_SIGMA
    # a perfectly steady history has MAD 0: allow 5 % of the usual growth (at least one row)
    band = k * max(mad, 0.05 * abs(median), 1.0)
    status = Status.PASS if abs(today - median) <= band else Status.WARN
    return CheckResult(check_id, layer, table_name, status, current_total,
                       f"growth within {median:g} ± {band:g}",
                       f"this run added {today} rows; median of the last {len(history)} runs {median:g}",
                       extra={"delta": today})


def volume_checks(settings, dag_id: str, totals: dict[str, tuple[str, int]], *, run_id: str = "",
                  **kwargs) -> list[CheckResult]:
    """``totals``: table -> (layer, current rows). History: earlier runs' ``volume.<table>`` rows."""
    from lakehouse.quality.store import history

    rows = sorted((r for r in history(settings, dag_id, check_prefix="volume.")
                   if r["run_id"] != run_id), key=lambda r: r["recorded_at"])
    out = []
    for table_name, (layer, current) in totals.items():
        previous = [int(r["observed"]) for r in rows
                    if r["check_id"] == f"volume.{table_name}" and r["observed"] not in (None, "null")]
        out.append(volume_anomaly(table_name, layer, current, previous, **kwargs))
    return out
