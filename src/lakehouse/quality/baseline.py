"""Robust baselines for anomaly checks: median ± k·MAD over the last N comparable runs.

A run is comparable when

- its gate did not fail: a run that recorded a FAIL is left out, so a bad run never becomes the normal
  the next runs are judged against (:func:`lakehouse.quality.store.failed_runs`);
- with a season set (``LAKEHOUSE_BASELINE_SEASON``), it ran on the same weekday, the same hour, or both, as
  the run being judged: seasonal data (weekend traffic, the nightly vs daytime loads) is compared like with
  like.

The volume check (:mod:`lakehouse.quality.volume`) judges each run's growth this way.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lakehouse.core.names import BASELINE_SEASONS

MAD_TO_SIGMA = 1.4826  # scales the median absolute deviation to a normal's standard deviation


@dataclass(frozen=True)
class Point:
    """One run's value of a metric."""

    run_id: str
    at: datetime
    value: float


@dataclass(frozen=True)
class Band:
    """``median ± half_width`` of ``runs`` comparable values."""

    median: float
    half_width: float
    runs: int

    @property
    def low(self) -> float:
        return self.median - self.half_width

    @property
    def high(self) -> float:
        return self.median + self.half_width

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.median:g} ± {self.half_width:g}"


def same_season(a: datetime, b: datetime, season: str) -> bool:
    """Do ``a`` and ``b`` fall in the same season (``""``: every run is comparable)?"""
    if season not in BASELINE_SEASONS:
        raise ValueError(f"unknown season {season!r}: one of {BASELINE_SEASONS}")
    weekday = a.weekday() == b.weekday() or "weekday" not in season
    hour = a.hour == b.hour or "hour" not in season
    return weekday and hour


def comparable(points: Iterable[Point], *, now: datetime, failed_runs: frozenset[str] | set[str] = frozenset(),
               season: str = "", window: int = 14) -> list[Point]:
    """The last ``window`` points (in time order) of runs whose gate did not fail, in ``now``'s season."""
    kept = [p for p in sorted(points, key=lambda p: p.at)
            if p.run_id not in failed_runs and same_season(p.at, now, season)]
    return kept[-window:]


def robust_band(values: list[float], k: float, *, relative_floor: float = 0.05, absolute_floor: float = 1.0) -> Band:
    """``median ± k·σ`` with σ the MAD scaled to a standard deviation, floored at ``relative_floor`` of the
    median (and ``absolute_floor``): a perfectly steady history has MAD 0, and must still allow a little."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) * MAD_TO_SIGMA
    return Band(median, k * max(mad, relative_floor * abs(median), absolute_floor), len(values))
