"""The WAP chain's review step: Airflow's own Human-in-the-loop ``ApprovalOperator``, asked only when the run's
WARN policy says so.

``review_warns`` sits between ``audit_branch`` and ``publish_branch``. It applies the run's Param
``warn_policy`` (:func:`lakehouse.core.review.publish_decision`): with no WARN, or policy ``publish``, it
returns at once; under ``block`` it fails; under ``review`` it writes the form (verdict, WARNs, branch diff,
Data quality link), alerts the configured channels with a link to it, and parks the task in Airflow's
``awaiting_input`` state. The run holds the WAP lease meanwhile, so ``main`` cannot move under the audited
branch. Approve resumes the chain; Reject fails the task (``fail_on_reject``), so ``publish_branch`` never
runs and the branch stays; no answer within ``review_timeout_minutes`` fails it through the scheduler's
timeout sweep. Airflow's auth manager decides who may answer (the DAG's HITL-detail edit permission: role
``user`` or above with the simple auth manager; a viewer gets 403). Each outcome is the check row
``review.decision`` (who, what, when, the comment).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseNotifier, Param

from lakehouse.config import get_settings
from lakehouse.core.review import MAX_COMMENT_CHARS, WARN_POLICIES

if TYPE_CHECKING:
    from airflow.sdk import Context

REVIEW_TASK = "review_warns"
BODIES = "lakehouse.orchestration.tasks.review"


def review_params() -> dict[str, Param]:
    """The DAG-level Params of the WARN policy (defaults: ``LAKEHOUSE_WARN_POLICY``,
    ``LAKEHOUSE_REVIEW_TIMEOUT_MINUTES``)."""
    settings = get_settings()
    return {
        "warn_policy": Param(settings.warn_policy, type="string", enum=list(WARN_POLICIES),
                             description="an audit WARN: publish anyway, block the publish, or wait for a "
                                         "reviewer's Approve in the Airflow UI"),
        "review_timeout_minutes": Param(settings.review_timeout_minutes, type="number", minimum=1,
                                        description="under review: no answer this long fails the run"),
    }


class ReviewWaitingNotifier(BaseNotifier):
    """Called by the operator once the form is up: one message per configured channel, with the WARNs and a
    link to the form (the gate's alert channels, :mod:`lakehouse.orchestration.notify`)."""

    def notify(self, context: Context) -> None:
        from lakehouse.orchestration.notify import send_review_alert

        send_review_alert(context, ApprovalOperator.generate_link_to_ui_from_context(context=context))


class WarnReviewOperator(ApprovalOperator):
    """``review_warns``: the WARN policy applied; under ``review`` an Approve/Reject form (build it with
    :func:`review_task`, which adds the form's ``comment`` field)."""

    def __init__(self, *, upstream_tasks: tuple[str, ...], **kwargs: Any) -> None:  # Any: BaseOperator's own
        kwargs.setdefault("task_id", REVIEW_TASK)
        super().__init__(
            subject="Publish {{ dag_run.dag_id }} {{ run_id }}? Its audit WARNed",
            fail_on_reject=True, retries=0, notifiers=[ReviewWaitingNotifier()],
            response_timeout=timedelta(minutes=get_settings().review_timeout_minutes), **kwargs)
        self.upstream_tasks = upstream_tasks

    def execute(self, context: Context) -> Any:  # Any: the decision dict, or Airflow's deferral
        from lakehouse.orchestration.notify import airflow_base_url
        from lakehouse.orchestration.quality_ui import run_url
        from lakehouse.orchestration.taskflow import run_body, upstream_results

        dag_run, params = context["dag_run"], context["params"]
        outcome = run_body(f"{BODIES}:prepare_review", dag_id=dag_run.dag_id, run_id=dag_run.run_id,
                           policy=params["warn_policy"], expected_tasks=self.upstream_tasks,
                           upstream=upstream_results(context["ti"], self.upstream_tasks),
                           quality_link=airflow_base_url() + run_url(dag_run.dag_id, dag_run.run_id))
        if "body" not in outcome:
            return outcome
        self.body = outcome["body"]
        self.response_timeout = timedelta(minutes=float(params["review_timeout_minutes"]))
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:  # Any: Airflow's event
        from lakehouse.orchestration.taskflow import run_body

        dag_run = context["dag_run"]
        run_body(f"{BODIES}:record_answer", dag_id=dag_run.dag_id, run_id=dag_run.run_id, event=event,
                 timeout_minutes=float(context["params"]["review_timeout_minutes"]))
        return super().execute_complete(context, event)


def review_task(upstream_tasks: tuple[str, ...]) -> WarnReviewOperator:
    """The review step after ``upstream_tasks``; its form asks for a comment beside Approve / Reject (a task
    Param: Airflow merges the DAG's Params in at construction, and the form shows only the task's)."""
    comment = Param("", type="string", maxLength=MAX_COMMENT_CHARS,
                    description="why (recorded with your decision; no personal data)")
    return WarnReviewOperator(upstream_tasks=upstream_tasks, params={"comment": comment})
