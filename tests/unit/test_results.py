import pytest

from lakehouse.core.checks import CheckResult, Status, compare, gate, readiness_score
from lakehouse.core.errors import QualityGateError


def _r(status):
    return CheckResult("c", "l", "t", status)


def test_score_counts_pass_over_pass_warn_fail_ignoring_skip():
    results = [_r(Status.PASS)] * 19 + [_r(Status.WARN), _r(Status.SKIP)]
    assert readiness_score(results) == 95.0


def test_gate_fails_on_any_fail_and_names_it():
    results = [_r(Status.PASS)] * 50 + [compare("bronze_vs_produced.profiles", "bronze", "b", 9, 10)]
    with pytest.raises(QualityGateError, match="bronze_vs_produced.profiles.*observed=9.*== 10"):
        gate(results)


def test_gate_fails_below_min_score_and_on_warn_when_asked():
    warn = [_r(Status.PASS)] * 9 + [_r(Status.WARN)]
    with pytest.raises(QualityGateError, match="score 90.0%"):
        gate(warn)
    assert gate(warn, min_score=90) == 90.0
    with pytest.raises(QualityGateError):
        gate(warn, min_score=0, fail_on_warn=True)


def test_compare_operators():
    assert compare("x", "l", "t", 0.96, 0.95, op=">=").status == Status.PASS
    assert compare("x", "l", "t", 0.94, 0.95, op=">=").status == Status.FAIL
    assert compare("x", "l", "t", 3, 2, op="<=", on_fail=Status.WARN).status == Status.WARN
    assert CheckResult.from_dict(compare("x", "l", "t", 1, 1).to_dict()).status == Status.PASS


def test_a_data_breach_fails_the_task_without_retry_and_other_errors_pass_through():
    from airflow.sdk.exceptions import AirflowFailException

    from lakehouse.core.errors import ReconciliationError
    from lakehouse.ingest.writer import IngestError
    from lakehouse.orchestration.errors import fail_fast_on_breach

    for breach in (QualityGateError("gate"), ReconciliationError("t[0]: gap")):
        with pytest.raises(AirflowFailException, match=type(breach).__name__), fail_fast_on_breach():
            raise breach
    with pytest.raises(IngestError), fail_fast_on_breach():  # broker trouble: Airflow retries
        raise IngestError("broker unreachable")


def test_a_low_score_names_the_warnings_that_caused_it():
    results = [CheckResult("ok", "silver", "t", Status.PASS), CheckResult("slow", "silver", "t", Status.WARN)]
    with pytest.raises(QualityGateError, match=r"score 50.0%.*\n.*WARN slow"):
        gate(results)
    assert gate(results, min_score=50.0) == 50.0  # warnings alone pass unless asked
    with pytest.raises(QualityGateError, match="WARN slow"):
        gate(results, min_score=50.0, fail_on_warn=True)


def test_a_run_that_judged_nothing_fails_and_scores_zero():
    from lakehouse.core.checks import verdict

    for results in ([], [_r(Status.SKIP)] * 3):
        v = verdict(results, min_score=0.0)
        assert (v.passed, v.score, [r.check_id for r in v.not_passing]) == (False, 0.0, ["gate.nothing_judged"])
        with pytest.raises(QualityGateError, match="gate.nothing_judged"):
            gate(results, min_score=0.0)
    assert gate([_r(Status.SKIP), _r(Status.PASS)]) == 100.0
