"""The two tasks that end every DAG that runs checks: the readiness report and the quality gate.

Both run with trigger rule ``all_done``: the report is written whatever
broke, and the gate is the one place that decides the run, reading every
check the run recorded in ``audit.check_results`` plus the tasks that failed.
"""

from __future__ import annotations

from airflow.sdk import task

from lakehouse import pipeline


def quality_gate(expected_tasks: tuple[str, ...]):
    """Final task: fails the DAG run on any FAIL (or WARN with Param ``fail_on_warn``), naming the checks."""

    @task(task_id="quality_gate", trigger_rule="all_done", retries=0)
    def gate(ti=None, dag_run=None, params=None):
        upstream = {t: ti.xcom_pull(task_ids=t) for t in expected_tasks}
        return pipeline.quality_gate(dag_id=dag_run.dag_id, run_id=dag_run.run_id, upstream=upstream,
                                     expected_tasks=expected_tasks,
                                     fail_on_warn=bool((params or {}).get("fail_on_warn", False)))

    return gate()


def readiness_report(expected_tasks: tuple[str, ...], body=pipeline.readiness_report):
    """Writes the JSON + HTML report and prints the terminal summary (``body``: the DAG's own report)."""

    @task(task_id="readiness_report", trigger_rule="all_done", retries=0)
    def report(ti=None, dag_run=None):
        upstream = {t: ti.xcom_pull(task_ids=t) for t in expected_tasks}
        return body(dag_id=dag_run.dag_id, run_id=dag_run.run_id, upstream=upstream, expected_tasks=expected_tasks)

    return report()
