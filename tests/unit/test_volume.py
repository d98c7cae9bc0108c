from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.core.checks import Status
from lakehouse.quality.baseline import Point, comparable, robust_band, same_season
from lakehouse.quality.volume import freshness, volume_anomaly

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)  # a Monday, 02:00


def runs(totals, step=timedelta(days=1), failed=()):
    """Run i at NOW - (len - i) * step with total totals[i]; ``failed``: indexes whose gate failed."""
    points = [Point(f"r{i}", NOW - (len(totals) - i) * step, t) for i, t in enumerate(totals)]
    return points, {f"r{i}" for i in failed}


STEADY, _ = runs([0, 10_000, 20_100, 29_900, 40_050, 50_000])  # ~10k rows per run


def test_steady_growth_passes_and_a_silent_90_percent_drop_warns():
    assert volume_anomaly("bronze.t", "bronze", 60_020, STEADY, now=NOW).status == Status.PASS
    drop = volume_anomaly("bronze.t", "bronze", 51_000, STEADY, now=NOW)  # only 1,000 new rows
    assert drop.status == Status.WARN and drop.extra["delta"] == 1_000
    assert "median of the last 5 comparable runs" in drop.details and drop.threshold.startswith("growth within 10000 ±")


def test_a_spike_warns_too_and_short_history_is_skipped():
    assert volume_anomaly("bronze.t", "bronze", 150_000, STEADY, now=NOW).status == Status.WARN
    short, _ = runs([0, 10_000, 20_000])
    assert volume_anomaly("bronze.t", "bronze", 30_000, short, now=NOW).status == Status.SKIP


def test_window_only_looks_at_recent_runs():
    old_regime = [i * 100 for i in range(20)]  # 100 rows a run, long ago
    new_regime = [old_regime[-1] + i * 10_000 for i in range(1, 6)]
    history, _ = runs(old_regime + new_regime)
    assert volume_anomaly("t", "silver", new_regime[-1] + 10_000, history, now=NOW, window=4).status == Status.PASS


def test_a_run_whose_gate_failed_never_becomes_the_baseline():
    # three runs loaded 1,000 rows where 10,000 is usual, and their gates failed; then the same happens again
    history, failed = runs([0, 10_000, 20_000, 30_000, 31_000, 32_000, 33_000], failed=(4, 5, 6))
    judged = volume_anomaly("t", "silver", 34_000, history, now=NOW, failed_runs=failed)
    assert judged.status == Status.WARN and "median of the last 3 comparable runs 10000" in judged.details
    poisoned = volume_anomaly("t", "silver", 34_000, history, now=NOW)  # had they counted: the new normal
    assert poisoned.status == Status.PASS


def test_a_seasonal_baseline_compares_like_with_like():
    # hourly runs for two weeks: 10,000 rows an hour on weekdays, 1,000 at weekends
    points, total = [], 0
    for hour in range(14 * 24, 0, -1):
        at = NOW - timedelta(hours=hour)
        total += 1_000 if at.weekday() >= 5 else 10_000
        points.append(Point(f"h{hour}", at, total))
    saturday = NOW - timedelta(days=2)  # judged as if it were Saturday 02:00, after 1,000 rows
    history = [p for p in points if p.at < saturday]
    current = history[-1].value + 1_000
    assert volume_anomaly("t", "bronze", current, history, now=saturday, season="weekday").status == Status.PASS
    assert volume_anomaly("t", "bronze", current, history, now=saturday, window=48).status == Status.WARN
    weekday = volume_anomaly("t", "bronze", current, history, now=saturday, season="weekday_hour")
    assert weekday.status == Status.SKIP  # one earlier Saturday 02:00 only: too few to judge
    assert "(same weekday and hour)" in weekday.details


def test_baseline_helpers():
    monday = datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert same_season(monday, monday + timedelta(days=7, hours=3), "weekday")
    assert not same_season(monday, monday + timedelta(days=7, hours=3), "weekday_hour")
    assert same_season(monday, monday + timedelta(days=1), "hour") and same_season(monday, monday, "")
    with pytest.raises(ValueError, match="unknown season"):
        same_season(monday, monday, "month")
    points = [Point(f"r{i}", monday - timedelta(days=i), i) for i in range(10)]
    assert [p.run_id for p in comparable(points, now=monday, failed_runs={"r1"}, window=3)] == ["r3", "r2", "r0"]
    band = robust_band([10, 11, 9, 10, 50], k=3)  # the outlier barely moves a median ± MAD band
    assert band.median == 10 and band.contains(12) and not band.contains(50) and str(band) == "10 ± 4.4478"


def test_freshness():
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert freshness("t", "gold", now - timedelta(hours=2), 26, now).status == Status.PASS
    stale = freshness("t", "gold", now - timedelta(hours=30), 26, now)
    assert stale.status == Status.FAIL and stale.observed == 30.0
    assert freshness("t", "gold", None, 26, now).status == Status.FAIL


def test_the_band_holds_its_edges_keeps_fourteen_runs_and_floors_a_steady_history():
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1)
    points = [Point(f"r{i}", start + timedelta(hours=i), float(i)) for i in range(20)]
    assert [p.run_id for p in comparable(points, now=start)] == [f"r{i}" for i in range(6, 20)]  # default: 14
    band = robust_band([10.0, 12.0, 14.0], k=1)  # MAD 2 x 1.4826
    assert band.contains(band.low) and band.contains(band.high)
    assert not band.contains(band.low - 0.001) and not band.contains(band.high + 0.001)
    steady = robust_band([1000.0] * 5, k=3)  # MAD 0: the band is 5 % of the median wide on each side, times k
    assert (steady.low, steady.high, steady.runs) == (850.0, 1150.0, 5)
    assert robust_band([2.0] * 3, k=3).half_width == 3.0  # below the absolute floor of 1
