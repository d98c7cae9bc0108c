"""Column-metric anomaly checks: the band, the baseline's two rules, and what a WARN names (pure logic)."""

from datetime import UTC, datetime, timedelta

from lakehouse.core.checks import Status
from lakehouse.quality.baseline import Point
from lakehouse.quality.column_metrics import ColumnMetric, anomaly_checks, from_profile

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # a Monday, 02:00
TABLE = "silver.kol_profiles"


def _history(values, *, metric="null_rate", column="username", scope="table", start=NOW - timedelta(days=14)):
    return {(TABLE, scope, column, metric): [Point(f"run-{i}", start + timedelta(days=i), v)
                                             for i, v in enumerate(values)]}


def _metric(value, metric="null_rate", column="username", scope="table"):
    return ColumnMetric(TABLE, scope, column, metric, value, 1000)


def test_a_value_inside_the_band_passes_and_one_outside_warns_naming_column_metric_value_and_band():
    history = _history([0.010, 0.012, 0.011, 0.009, 0.010])
    [ok] = anomaly_checks([_metric(0.012)], history, run_id="now", failed_runs=set(), now=NOW)
    assert (ok.check_id, ok.status, ok.observed) == (f"metrics.{TABLE}", Status.PASS, 0)
    [jump] = anomaly_checks([_metric(0.31)], history, run_id="now", failed_runs=set(), now=NOW)
    assert (jump.status, jump.observed) == (Status.WARN, 1)
    # a steady history has MAD ~0: a rate's spread is floored at 1 point, times k = 4
    assert "username.null_rate = 0.31 outside [-0.03, 0.05] (median 0.01 of 5 runs)" in jump.details


def test_too_few_comparable_runs_is_a_skip_and_the_run_itself_is_never_its_own_baseline():
    history = _history([0.01, 0.01, 0.5])
    history[(TABLE, "table", "username", "null_rate")][-1] = Point("now", NOW, 0.5)  # this run, recorded before
    [check] = anomaly_checks([_metric(0.5)], history, run_id="now", failed_runs=set(), now=NOW)
    assert check.status == Status.SKIP and "fewer than 3 comparable runs" in check.details


def test_a_failed_run_never_becomes_the_normal():
    # three runs whose gate failed recorded a broken column: judged without them, the break still WARNs
    history = _history([0.01, 0.01, 0.01, 0.6, 0.6, 0.6])
    failed = {"run-3", "run-4", "run-5"}
    [poisoned] = anomaly_checks([_metric(0.6)], history, run_id="now", failed_runs=set(), now=NOW)
    [judged] = anomaly_checks([_metric(0.6)], history, run_id="now", failed_runs=failed, now=NOW)
    assert poisoned.status == Status.PASS  # what a baseline that kept them would conclude
    assert judged.status == Status.WARN and "median 0.01 of 3 runs" in judged.details


def test_a_seasonal_baseline_compares_like_with_like():
    # hourly runs: the mean follower count of the batch is high at 02:00 every day, low at other hours
    start = NOW - timedelta(days=5)
    points = [Point(f"r{d}-{h}", start + timedelta(days=d, hours=h), 900.0 if h == 0 else 100.0)
              for d in range(5) for h in range(0, 24, 6)]
    history = {(TABLE, "increment", "followers_count", "mean"): points}
    today = [_metric(900.0, "mean", "followers_count", "increment")]
    [mixed] = anomaly_checks(today, history, run_id="now", failed_runs=set(), now=NOW)
    [seasonal] = anomaly_checks(today, history, run_id="now", failed_runs=set(), season="hour", now=NOW)
    assert (mixed.check_id, mixed.status) == (f"metrics.{TABLE}.increment", Status.WARN)
    assert seasonal.status == Status.PASS


def test_one_check_per_table_and_scope_listing_every_metric_outside():
    history = {**_history([10.0, 11.0, 10.5], metric="mean", column="followers_count"),
               **_history([0.0, 0.0, 0.0]), **_history([1.0, 1.0, 1.0], metric="distinct_ratio", column="kol_id")}
    metrics = [_metric(50.0, "mean", "followers_count"), _metric(0.0), _metric(0.2, "distinct_ratio", "kol_id"),
               _metric(0.4, scope="increment")]
    checks = {c.check_id: c for c in anomaly_checks(metrics, history, run_id="now", failed_runs=set(), now=NOW)}
    assert set(checks) == {f"metrics.{TABLE}", f"metrics.{TABLE}.increment"}
    whole = checks[f"metrics.{TABLE}"]
    assert (whole.status, whole.observed) == (Status.WARN, 2)
    assert "followers_count.mean = 50" in whole.details and "kol_id.distinct_ratio = 0.2" in whole.details
    assert checks[f"metrics.{TABLE}.increment"].status == Status.SKIP  # no history for the change yet


def test_metrics_from_a_profile_and_a_sketch():
    observed = {"rows": 200, "non_null": 150, "min": 1.0, "max": 9.0, "mean": 4.5}
    metrics = {m.metric: m.value for m in from_profile(TABLE, "", "followers_count", observed,
                                                       {"distinct_ratio": 0.5, "p50": 4.0, "p95": 8.0})}
    assert metrics == {"null_rate": 0.25, "distinct_ratio": 0.5, "min": 1.0, "max": 9.0, "mean": 4.5,
                       "p50": 4.0, "p95": 8.0}
    text = {m.metric for m in from_profile(TABLE, "increment", "username", {"rows": 0, "non_null": 0}, {})}
    assert text == {"null_rate"}  # an empty batch has no rate: recorded as null, never judged
