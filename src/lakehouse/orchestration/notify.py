"""Alerts engineers read: one grouped message per failed quality gate, and the nightly's Deadline Alert.

Both go through providers' Notifiers: the SMTP provider's ``SmtpNotifier`` (Airflow connection
``smtp_default``) to ``LAKEHOUSE_ALERT_EMAILS``, and the Slack provider's ``SlackWebhookNotifier`` when
``LAKEHOUSE_ALERT_SLACK_CONN_ID`` names an incoming-webhook connection. With neither configured nothing is
sent and the task log says so. The gate alert is the gate task's failure callback: the gate is one task
per run without retries, so a run gets one message naming every check that breached it, not one per check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING

from airflow.sdk import AsyncCallback, BaseNotifier, DeadlineAlert, DeadlineReference

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status, verdict
from lakehouse.core.review import REVIEW_CHECK, warnings_of
from lakehouse.orchestration.quality_ui import run_url

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)
SUBJECT_PREFIX = "[KOL Lakehouse]"
SMTP_NOTIFIER = "airflow.providers.smtp.notifications.smtp.SmtpNotifier"
SLACK_NOTIFIER = "airflow.providers.slack.notifications.slack_webhook.SlackWebhookNotifier"


def airflow_base_url() -> str:
    """Where engineers open Airflow (``[api] base_url``), for links in alerts."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def channels(settings: Settings) -> list[str]:
    """The configured alert channels: ``smtp`` (recipients set), ``slack`` (webhook connection named)."""
    return [name for name, on in (("smtp", settings.alert_recipients), ("slack", settings.alert_slack_conn_id))
            if on]


@dataclass(frozen=True)
class GateAlert:
    subject: str
    html: str  # the mail
    text: str  # the Slack message (mrkdwn)


def _rows_html(checks: list[CheckResult]) -> str:
    rows = "".join(f"<tr><td>{escape(str(r.status))}</td><td>{escape(r.check_id)}</td>"
                   f"<td>{escape(r.layer)}/{escape(r.table)}</td><td>{escape(str(r.observed))}</td>"
                   f"<td>{escape(r.threshold)}</td><td>{escape(r.details)}</td></tr>" for r in checks)
    return ("<table border=1 cellpadding=4><tr><th>status</th><th>check</th><th>where</th><th>observed</th>"
            f"<th>threshold</th><th>details</th></tr>{rows}</table>")


def gate_alert(dag_id: str, run_id: str, checks: list[CheckResult], *, fail_on_warn: bool,
               base_url: str) -> GateAlert:
    """Verdict, score, each check that breached it with observed vs threshold, and the run's Data quality link.

    The subject names the first three breaches, FAILs before WARNs and recorded checks before failed tasks
    (a rejected or timed-out review reads ``review.decision (timed out)``)."""
    v = verdict(checks, fail_on_warn=fail_on_warn)
    link = base_url + run_url(dag_id, run_id)
    outcome = "PASSED" if v.passed else "FAILED"
    # FAILs before WARNs, recorded checks before failed tasks
    first = sorted(v.not_passing, key=lambda r: (r.status != Status.FAIL, r.check_id.startswith("task.")))[:3]
    named = ", ".join(f"{r.check_id} ({r.observed})" if r.check_id == REVIEW_CHECK else r.check_id for r in first)
    subject = (f"{SUBJECT_PREFIX} {dag_id} {run_id}: quality gate {outcome}, score {v.score}% "
               f"(min {v.min_score}%), {len(v.not_passing)} check(s) not passing" + (f": {named}" if named else ""))
    html = (f"<h2>{escape(dag_id)} &middot; {escape(run_id)}</h2>"
            f"<p>Verdict: <b>{outcome}</b>, readiness score {v.score}% "
            f"(min {v.min_score}%{', WARN fails' if fail_on_warn else ''}).</p>{_rows_html(v.not_passing)}"
            f'<p><a href="{escape(link)}">Data quality view of this run</a></p>')
    text = "\n".join([f"*{subject}*", *(f"• `{r.line()}`" for r in v.not_passing),
                      f"<{link}|Data quality view of this run>"])
    return GateAlert(subject, html, text)


def review_alert(dag_id: str, run_id: str, checks: list[CheckResult], *, form_link: str,
                 base_url: str) -> GateAlert:
    """A run waits for a reviewer: its WARNs with observed vs threshold, the approval form's link and the
    run's Data quality link."""
    warns = warnings_of(checks)
    link = base_url + run_url(dag_id, run_id)
    subject = f"{SUBJECT_PREFIX} {dag_id} {run_id}: review waiting, {len(warns)} WARN(s) before publish"
    html = (f"<h2>{escape(dag_id)} &middot; {escape(run_id)}</h2><p>The audit WARNed; the branch is "
            f"published only when a reviewer approves.</p>{_rows_html(warns)}"
            f'<p><a href="{escape(form_link)}">Review: approve or reject</a> &middot; '
            f'<a href="{escape(link)}">Data quality view of this run</a></p>')
    text = "\n".join([f"*{subject}*", *(f"• `{r.line()}`" for r in warns),
                      f"<{form_link}|Review: approve or reject> · <{link}|Data quality view of this run>"])
    return GateAlert(subject, html, text)


def _notifiers(settings: Settings, alert: GateAlert) -> list[BaseNotifier]:
    out = []
    if settings.alert_recipients:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        out.append(SmtpNotifier(to=settings.alert_recipients, from_email=settings.alert_from,
                                subject=alert.subject, html_content=alert.html))
    if settings.alert_slack_conn_id:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        out.append(SlackWebhookNotifier(slack_webhook_conn_id=settings.alert_slack_conn_id, text=alert.text))
    return out


class QualityGateNotifier(BaseNotifier):
    """The gate task's ``on_failure_callback``: one message per channel for the run, from its recorded checks."""

    def __init__(self, expected_tasks: tuple[str, ...]) -> None:
        super().__init__()
        self.expected_tasks = expected_tasks

    def notify(self, context: Context) -> None:
        from lakehouse.orchestration.taskflow import upstream_results
        from lakehouse.orchestration.tasks.checks import run_checks

        settings = get_settings()
        if not channels(settings):
            log.warning("quality gate failed; no alert sent (set LAKEHOUSE_ALERT_EMAILS and/or "
                        "LAKEHOUSE_ALERT_SLACK_CONN_ID)")
            return
        dag_run, ti = context["dag_run"], context["ti"]
        checks = run_checks(settings, dag_run.dag_id, dag_run.run_id, upstream_results(ti, self.expected_tasks),
                            self.expected_tasks)
        alert = gate_alert(dag_run.dag_id, dag_run.run_id, checks,
                           fail_on_warn=bool((context.get("params") or {}).get("fail_on_warn")),
                           base_url=airflow_base_url())
        send(settings, alert, context)


def send(settings: Settings, alert: GateAlert, context: Context) -> None:
    """``alert`` to every configured channel (rendered already: no templating of check details)."""
    for notifier in _notifiers(settings, alert):
        notifier.notify(context)
    log.info("alert sent (%s): %s", ", ".join(channels(settings)), alert.subject)


def send_review_alert(context: Context, form_link: str) -> None:
    """The review-waiting alert of the run in ``context`` (no channel configured: the log says so)."""
    from lakehouse.quality.store import run_results

    settings, dag_run = get_settings(), context["dag_run"]
    if not channels(settings):
        log.warning("review waiting at %s; no alert sent (no alert channel configured)", form_link)
        return
    checks = run_results(settings, dag_run.dag_id, dag_run.run_id)
    send(settings, review_alert(dag_run.dag_id, dag_run.run_id, checks, form_link=form_link,
                                base_url=airflow_base_url()), context)


def nightly_deadline(settings: Settings | None = None) -> list[DeadlineAlert]:
    """The nightly must finish ``nightly_deadline_minutes`` after it was queued (the scheduled run: 02:00 ->
    04:00), or the triggerer alerts each configured channel (none configured: no Deadline Alert).

    Counted from the queue time, not the logical date: the catch-up run Airflow creates when the DAG is
    unpaused late in the day would otherwise be late before it started."""
    settings = settings or get_settings()
    link = airflow_base_url() + "/dags/{{ dag_run.dag_id }}/runs/{{ dag_run.dag_run_id }}"
    summary = (SUBJECT_PREFIX + " {{ dag_run.dag_id }} {{ dag_run.dag_run_id }}: deadline missed (not finished "
               f"{settings.nightly_deadline_minutes:g} min after it was queued at {{{{ dag_run.queued_at }}}}, "
               "by {{ deadline.deadline_time }}); state: {{ dag_run.state }}")
    callbacks = {
        "smtp": lambda: AsyncCallback(SMTP_NOTIFIER, kwargs={
            "to": settings.alert_recipients, "from_email": settings.alert_from, "subject": summary,
            "html_content": f'<p>{summary}</p><p><a href="{link}">Open the run</a></p>'}),
        "slack": lambda: AsyncCallback(SLACK_NOTIFIER, kwargs={
            "slack_webhook_conn_id": settings.alert_slack_conn_id, "text": f"{summary}\n<{link}|Open the run>"}),
    }
    return [DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                          interval=timedelta(minutes=settings.nightly_deadline_minutes),
                          callback=callbacks[channel](), name=f"nightly_finished_by_{channel}")
            for channel in channels(settings)]
