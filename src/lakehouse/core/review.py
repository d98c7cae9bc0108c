"""What a WAP chain does with an audit that WARNed: publish, block, or ask a reviewer (the WARN policy).

The audit ends in PASS, WARN or FAIL; a FAIL already stops the chain in ``audit_branch``. A WARN is where a
person may have to look: under policy ``review`` the chain waits on an Airflow Human-in-the-loop form
(:mod:`lakehouse.orchestration.review`) before it publishes. One rule decides (:func:`publish_decision`),
one function turns the reviewer's answer into the check row the gate and the report read
(:func:`decision_check`), and one renders what the reviewer reads (:func:`review_body`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lakehouse.core.checks import CheckResult, Status, verdict


class WarnPolicy(StrEnum):
    PUBLISH = "publish"  # WARNs are reported, the branch is published (the default)
    BLOCK = "block"  # any WARN stops the chain before publish; nobody is asked
    REVIEW = "review"  # any WARN waits for a reviewer's Approve / Reject in the Airflow UI


WARN_POLICIES = tuple(p.value for p in WarnPolicy)
REVIEW_CHECK = "review.decision"
APPROVE, REJECT = "Approve", "Reject"  # ApprovalOperator's two options
MAX_COMMENT_CHARS = 500
MAX_DIFF_LINES = 12  # the tables a form lists (the report has them all)


def warnings_of(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """The checks that WARNed: what the policy acts on, the form lists and the alert names."""
    return [c for c in checks if c.status is Status.WARN]


def publish_decision(checks: Sequence[CheckResult], policy: WarnPolicy | str) -> WarnPolicy:
    """``PUBLISH`` when the audit has no WARN (or the policy publishes WARNs), else the policy itself.

    A FAIL is not decided here: the audit task has failed the chain already, and the gate names it.
    """
    if not warnings_of(checks):
        return WarnPolicy.PUBLISH
    return WarnPolicy(policy)


@dataclass(frozen=True)
class Answer:
    """A reviewer's answer as Airflow hands it to the task (its HITL resume event), or the timeout."""

    chosen: str | None  # APPROVE, REJECT, or None when nobody answered in time
    reviewer: str  # the Airflow user's name ("" on timeout)
    at: str  # ISO time of the answer (or of the timeout)
    comment: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any], now: str) -> Answer:  # Any: Airflow's event payload
        """Read the event ``execute_complete`` receives; an ``error`` event is the timeout."""
        if "error" in event:
            return cls(None, "", now, str(event.get("error", "")))
        user = event.get("responded_by_user") or {}
        at = event.get("responded_at")  # a datetime (Airflow's event keeps it one), else what came
        stamp = at.isoformat() if isinstance(at, datetime) else str(at or now)
        comment = str((event.get("params_input") or {}).get("comment") or "")[:MAX_COMMENT_CHARS]
        return cls((event.get("chosen_options") or [None])[0], str(user.get("name") or user.get("id") or ""),
                   stamp, comment)


def decision_check(answer: Answer, warns: int, timeout_minutes: float) -> CheckResult:
    """The ``review.decision`` row: PASS when approved, FAIL when rejected or not answered in time."""
    if answer.chosen is None:
        return CheckResult(REVIEW_CHECK, "orchestration", "-", Status.FAIL, "timed out", APPROVE,
                           f"review timed out: no answer within {timeout_minutes:g} min for {warns} WARN(s)",
                           extra={"decision": "timeout", "at": answer.at})
    approved = answer.chosen == APPROVE
    details = f"{'approved' if approved else 'rejected'} by {answer.reviewer} at {answer.at} for {warns} WARN(s)"
    return CheckResult(REVIEW_CHECK, "orchestration", "-", Status.PASS if approved else Status.FAIL,
                       answer.chosen, APPROVE, details + (f": {answer.comment}" if answer.comment else ""),
                       extra={"decision": answer.chosen, "reviewer": answer.reviewer, "at": answer.at,
                              "comment": answer.comment})


def blocked_check(warns: Sequence[CheckResult]) -> CheckResult:
    """The ``review.decision`` row of policy ``block``: FAIL naming the WARNs that stopped the publish."""
    return CheckResult(REVIEW_CHECK, "orchestration", "-", Status.FAIL, "blocked", APPROVE,
                       f"warn policy block: {len(warns)} WARN(s) stop the publish: "
                       + ", ".join(w.check_id for w in warns), extra={"decision": "blocked"})


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def review_body(checks: Sequence[CheckResult], quality_link: str) -> str:
    """The form's Markdown: verdict and score, each WARN with observed vs threshold, the branch diff per
    table (``+inserted ~updated -deleted``, changed columns, score shifts) and the Data quality link."""
    v = verdict(list(checks))
    warns = warnings_of(checks)
    diffs = [c for c in checks if c.check_id.startswith("diff.") and c.status is Status.PASS][:MAX_DIFF_LINES]
    lines = [f"**Audit verdict: {'PASS' if v.passed else 'FAIL'} with {len(warns)} WARN(s), readiness score "
             f"{v.score}%** (min {v.min_score}%). Approve publishes the branch to `main` and Redis; Reject fails "
             "the run and keeps the branch for inspection.", "", "| WARN | where | observed | threshold |",
             "|---|---|---|---|"]
    lines += [f"| `{w.check_id}` | {w.layer}/{w.table} | {_cell(w.observed)} | {_cell(w.threshold)} |"
              for w in warns]
    lines += ["", "**What publishing changes** (+inserted ~updated -deleted):", ""]
    lines += [f"- `{d.table}`: {d.observed}" + (f" — {_cell(d.details)}" if d.details else "") for d in diffs]
    lines += [*([] if diffs else ["- no table changes"]), "", f"[Data quality view of this run]({quality_link})"]
    return "\n".join(lines)
