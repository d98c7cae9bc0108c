from datetime import UTC, datetime, timedelta

from lakehouse.core.checks import Status
from lakehouse.quality.volume import freshness, volume_anomaly

STEADY = [0, 10_000, 20_100, 29_900, 40_050, 50_000]  # ~10k rows per run


def test_steady_growth_passes_and_a_silent_90_percent_drop_warns():
    assert volume_anomaly("bronze.t", "bronze", 60_020, STEADY).status == Status.PASS
    drop = volume_anomaly("bronze.t", "bronze", 51_000, STEADY)  # only 1,000 new rows
    assert drop.status == Status.WARN and drop.extra["delta"] == 1_000
    assert "median of the last 5 runs" in drop.details


def test_a_spike_warns_too_and_short_history_is_skipped():
    assert volume_anomaly("bronze.t", "bronze", 150_000, STEADY).status == Status.WARN
    assert volume_anomaly("bronze.t", "bronze", 30_000, [0, 10_000, 20_000]).status == Status.SKIP


def test_window_only_looks_at_recent_runs():
    old_regime = [i * 100 for i in range(20)]  # 100 rows a run, long ago
    new_regime = [old_regime[-1] + i * 10_000 for i in range(1, 6)]
    result = volume_anomaly("t", "silver", new_regime[-1] + 10_000, old_regime + new_regime, window=4)
    assert result.status == Status.PASS


def test_freshness():
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert freshness("t", "gold", now - timedelta(hours=2), 26, now).status == Status.PASS
    stale = freshness("t", "gold", now - timedelta(hours=30), 26, now)
    assert stale.status == Status.FAIL and stale.observed == 30.0
    assert freshness("t", "gold", None, 26, now).status == Status.FAIL
