"""The WARN policy's rules (pure): what is decided, what is recorded, what the reviewer reads, what is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lakehouse.core import review
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.review import APPROVE, REJECT, REVIEW_CHECK, Answer, WarnPolicy

PASSING = CheckResult("counts.silver.kol_profiles", "silver", "silver.kol_profiles", Status.PASS, 10, "== 10")
WARNING = CheckResult("metrics.silver.kol_profiles.followers.p95", "silver", "silver.kol_profiles", Status.WARN,
                      912.5, "[100, 400]")
DIFF = CheckResult("diff.gold.kol_summary", "gold", "gold.kol_summary", Status.PASS, "+3 ~2 -0",
                   "inserted ~updated -deleted", "updated columns: final_score 2; final_score mean +1.5 p95 +3.0")


@pytest.mark.parametrize("policy", list(WarnPolicy))
def test_without_a_warn_every_policy_publishes(policy):
    assert review.publish_decision([PASSING, DIFF], policy) is WarnPolicy.PUBLISH


@pytest.mark.parametrize("policy", list(WarnPolicy))
def test_a_warn_is_decided_by_the_policy(policy):
    assert review.publish_decision([PASSING, WARNING], policy.value) is policy


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="maybe"):
        review.publish_decision([WARNING], "maybe")


def _event(option: str, comment: str = "") -> dict:
    return {"chosen_options": [option], "params_input": {"comment": comment},
            "responded_at": datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC),
            "responded_by_user": {"id": "reviewer", "name": "reviewer"}, "timedout": False}


def test_an_approval_is_a_pass_naming_the_reviewer_the_time_and_the_comment():
    row = review.decision_check(Answer.from_event(_event(APPROVE, "band is seasonal"), "now"), 2, 60)
    assert (row.check_id, row.status, row.observed) == (REVIEW_CHECK, Status.PASS, APPROVE)
    assert row.details == "approved by reviewer at 2026-12-08T01:02:03+00:00 for 2 WARN(s): band is seasonal"
    assert row.extra["reviewer"] == "reviewer"


def test_a_rejection_and_a_timeout_are_fails_that_say_which():
    rejected = review.decision_check(Answer.from_event(_event(REJECT), "now"), 1, 60)
    assert (rejected.status, rejected.observed) == (Status.FAIL, REJECT)
    assert rejected.details.startswith("rejected by reviewer")
    timeout = review.decision_check(Answer.from_event({"error": "no response", "error_type": "timeout"}, "t0"), 1, 90)
    assert (timeout.status, timeout.observed) == (Status.FAIL, "timed out")
    assert "no answer within 90 min" in timeout.details


def test_a_long_comment_is_cut_to_its_limit():
    answer = Answer.from_event(_event(APPROVE, "x" * 2000), "now")
    assert len(answer.comment) == 500


def test_block_names_every_warn_it_stopped_on():
    row = review.blocked_check([WARNING, WARNING])
    assert row.status is Status.FAIL and row.observed == "blocked"
    assert row.details.count(WARNING.check_id) == 2


def test_the_form_shows_the_verdict_each_warn_with_its_band_the_diff_and_the_link():
    body = review.review_body([*[PASSING] * 19, WARNING, DIFF], "http://airflow/data-quality/dags/d/runs/r")
    assert "PASS with 1 WARN(s), readiness score 95.24%" in body
    assert f"| `{WARNING.check_id}` | silver/silver.kol_profiles | 912.5 | [100, 400] |" in body
    assert "- `gold.kol_summary`: +3 ~2 -0 — updated columns: final_score 2" in body
    assert body.endswith("[Data quality view of this run](http://airflow/data-quality/dags/d/runs/r)")


def test_a_pipe_in_a_value_does_not_break_the_table():
    odd = CheckResult("contract.x", "bronze", "t", Status.WARN, "a|b", "<= 0.05")
    assert "| a\\|b |" in review.review_body([odd], "l")


def test_the_waiting_alert_lists_the_warns_and_links_the_form():
    from lakehouse.orchestration.notify import review_alert

    alert = review_alert("kol_transform", "manual__1", [PASSING, WARNING], form_link="http://a/form",
                         base_url="http://a")
    assert "review waiting, 1 WARN(s)" in alert.subject
    assert 'href="http://a/form"' in alert.html and WARNING.check_id in alert.html
    assert PASSING.check_id not in alert.text and "<http://a/form|Review: approve or reject>" in alert.text


def test_the_gate_alert_names_a_timed_out_review_in_its_subject():
    from lakehouse.orchestration.notify import gate_alert

    timeout = review.decision_check(Answer(None, "", "t0", ""), 1, 60)
    failed_tasks = [CheckResult(f"task.{t}", "orchestration", "-", Status.FAIL) for t in ("review_warns", "publish")]
    alert = gate_alert("kol_transform", "manual__1", [*failed_tasks, *[PASSING] * 40, WARNING, timeout],
                       fail_on_warn=False, base_url="http://a")
    assert alert.subject.endswith("4 check(s) not passing: review.decision (timed out), task.review_warns, "
                                  "task.publish")  # the WARN, named too (the score fell below 95 %), comes last
