"""``review_warns`` (``kol_transform`` and ``kol_platform_e2e``, between the audit and the publish): the run's
WARN policy applied, and the reviewer's answer recorded as the ``review.decision`` check row.

Run in the Airflow task's process by :class:`lakehouse.orchestration.review.WarnReviewOperator`; no Spark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lakehouse.config import Settings, get_settings
from lakehouse.core.errors import QualityGateError
from lakehouse.core.review import (
    Answer,
    WarnPolicy,
    blocked_check,
    decision_check,
    publish_decision,
    review_body,
    warnings_of,
)
from lakehouse.orchestration.errors import fail_fast_on_breach
from lakehouse.quality.store import record, run_results

SOURCE = "review_warns"


def prepare_review(*, dag_id: str, run_id: str, policy: str, upstream: dict[str, Any], expected_tasks: Sequence[str],
                   quality_link: str, settings: Settings | None = None) -> dict[str, Any]:
    """Apply the WARN policy to what the run recorded so far.

    ``publish``: nothing to ask. ``block``: a FAIL row naming the WARNs, then the task fails without retries.
    ``review``: the run's report is written now (the form links to its Data quality view, which the final
    report replaces) and the form's Markdown is returned.
    """
    settings = settings or get_settings()
    checks = run_results(settings, dag_id, run_id)
    decision, warns = publish_decision(checks, policy), warnings_of(checks)
    if decision is WarnPolicy.BLOCK:
        row = blocked_check(warns)
        record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=[row])
        with fail_fast_on_breach():
            raise QualityGateError(row.details)
    out = {"decision": str(decision), "warns": len(warns)}
    if decision is WarnPolicy.REVIEW:
        from lakehouse.orchestration.tasks.checks import readiness_report

        readiness_report(dag_id=dag_id, run_id=run_id, upstream=upstream, expected_tasks=expected_tasks,
                         settings=settings)
        out["body"] = review_body(checks, quality_link)
    print(f"warn policy {policy}: {len(warns)} WARN(s) -> {decision}")
    return out


def record_answer(*, dag_id: str, run_id: str, event: Mapping[str, Any], timeout_minutes: float,
                  settings: Settings | None = None) -> dict[str, Any]:  # Any: Airflow's resume event
    """The reviewer's answer (or the timeout) as the ``review.decision`` row the gate and the report read."""
    settings = settings or get_settings()
    warns = len(warnings_of(run_results(settings, dag_id, run_id)))
    row = decision_check(Answer.from_event(event, datetime.now(UTC).isoformat()), warns, timeout_minutes)
    record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=[row])
    print(row.line())
    return row.to_dict()
