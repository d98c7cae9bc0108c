"""Alerts engineers read: one grouped mail per failed quality gate, and the nightly's Deadline Alert.

Both go through the SMTP provider's ``SmtpNotifier`` (Airflow connection ``smtp_default``) to
``LAKEHOUSE_ALERT_EMAILS``; with no recipients configured nothing is sent and the task log says so.
The gate alert is the gate task's failure callback: the gate is one task per run without retries, so a
run gets one message naming every check that breached it, not one per check.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from airflow.sdk import AsyncCallback, BaseNotifier, DeadlineAlert, DeadlineReference

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, verdict
from lakehouse.orchestration.quality_ui import run_url

log = logging.getLogger(__name__)
SUBJECT_PREFIX = "[KOL Lakehouse]"


def airflow_base_url() -> str:
    """Where engineers open Airflow (``[api] base_url``), for links in alerts."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def gate_alert(dag_id: str, run_id: str, checks: list[CheckResult], *, fail_on_warn: bool,
               base_url: str) -> tuple[str, str]:
    """Subject and HTML body: verdict, score, each check that breached with observed vs threshold, the link."""
    v = verdict(checks, fail_on_warn=fail_on_warn)
    link = base_url + run_url(dag_id, run_id)
    subject = (f"{SUBJECT_PREFIX} {dag_id} {run_id}: quality gate {'PASSED' if v.passed else 'FAILED'}, "
               f"score {v.score}% (min {v.min_score}%), {len(v.not_passing)} check(s) not passing")
    rows = "".join(f"<tr><td>{escape(str(r.status))}</td><td>{escape(r.check_id)}</td>"
                   f"<td>{escape(r.layer)}/{escape(r.table)}</td><td>{escape(str(r.observed))}</td>"
                   f"<td>{escape(r.threshold)}</td><td>{escape(r.details)}</td></tr>" for r in v.not_passing)
    html = (f"<h2>{escape(dag_id)} &middot; {escape(run_id)}</h2>"
            f"<p>Verdict: <b>{'PASSED' if v.passed else 'FAILED'}</b>, readiness score {v.score}% "
            f"(min {v.min_score}%{', WARN fails' if fail_on_warn else ''}).</p>"
            "<table border=1 cellpadding=4><tr><th>status</th><th>check</th><th>where</th><th>observed</th>"
            f"<th>threshold</th><th>details</th></tr>{rows}</table>"
            f'<p><a href="{escape(link)}">Data quality view of this run</a></p>')
    return subject, html


def _smtp(settings: Settings, **kwargs):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to=settings.alert_recipients, from_email=settings.alert_from, **kwargs)


class QualityGateNotifier(BaseNotifier):
    """The gate task's ``on_failure_callback``: one mail for the run, from the checks it recorded."""

    def __init__(self, expected_tasks: tuple[str, ...]):
        super().__init__()
        self.expected_tasks = expected_tasks

    def notify(self, context) -> None:
        from lakehouse.orchestration.tasks.checks import run_checks

        settings = get_settings()
        if not settings.alert_recipients:
            log.warning("quality gate failed; no alert sent (LAKEHOUSE_ALERT_EMAILS is empty)")
            return
        dag_run, ti = context["dag_run"], context["ti"]
        upstream = {t: ti.xcom_pull(task_ids=t) for t in self.expected_tasks}
        checks = run_checks(settings, dag_run.dag_id, dag_run.run_id, upstream, self.expected_tasks)
        subject, html = gate_alert(dag_run.dag_id, dag_run.run_id, checks,
                                   fail_on_warn=bool((context.get("params") or {}).get("fail_on_warn")),
                                   base_url=airflow_base_url())
        _smtp(settings, subject=subject, html_content=html).notify(context)
        log.info("quality gate alert sent to %s", ", ".join(settings.alert_recipients))


def nightly_deadline(settings: Settings | None = None) -> DeadlineAlert | None:
    """The nightly must finish ``nightly_deadline_minutes`` after its logical date (02:00 -> 04:00), or the
    triggerer mails the recipients. None when no recipients are configured."""
    settings = settings or get_settings()
    if not settings.alert_recipients:
        return None
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    link = airflow_base_url() + "/dags/{{ dag_run.dag_id }}/runs/{{ dag_run.dag_run_id }}"
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(minutes=settings.nightly_deadline_minutes),
        callback=AsyncCallback(SmtpNotifier, kwargs={
            "to": settings.alert_recipients, "from_email": settings.alert_from,
            "subject": SUBJECT_PREFIX + " {{ dag_run.dag_id }} {{ dag_run.dag_run_id }}: deadline missed "
                       f"(not finished {settings.nightly_deadline_minutes:g} min after its logical date)",
            "html_content": "<p>{{ dag_run.dag_id }} run {{ dag_run.dag_run_id }} (logical date "
                            "{{ dag_run.logical_date }}) had not finished by {{ deadline.deadline_time }}; "
                            f'state: {{{{ dag_run.state }}}}.</p><p><a href="{link}">Open the run</a></p>',
        }),
        name="nightly_finished_by",
    )
