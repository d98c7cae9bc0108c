"""
### Nightly data quality on the published lake (`main`)

Every night at 02:00 (no catchup), and from the UI with Params:

0. **lake_published** – on a lake that has never published (no `kol_transform` or `kol_platform_e2e`
   run has fast-forwarded `main` yet) there is nothing to judge: the run short-circuits, every other task
   is skipped, the run succeeds and nothing alerts ("nothing published yet" in this task's log). From the
   first publish on, a table that is missing existed and vanished: its checks FAIL.
1. **lake_checks** (Spark) – every expectation suite in `expectations/` (Bronze, Silver, Gold),
   counts and exact accounting, lineage (Bronze offsets contiguous per partition, Silver covers
   every Bronze snapshot, Gold built from the current Silver, sampled Gold rows traced back to
   their Bronze Kafka record). GX validation results and Data Docs go under the reports dir.
2. **table_checks** – layer counts, freshness of each table's newest commit
   (`LAKEHOUSE_FRESHNESS_MAX_AGE_HOURS`), and volume anomalies: each table's growth against
   the last runs' (median ± k·MAD, `LAKEHOUSE_VOLUME_MAD_K`, `LAKEHOUSE_VOLUME_WINDOW`) → WARN.
   With layer `serving`: Redis entries = Gold rows per platform and the published content checks
   (trending 0–100, ≥ 80 % distinct, range > 10; followers ≥ 80 % distinct; final score formula).
3. **health_checks** – the platform itself (layer `health`, also `lakehouse doctor`): broker reachable,
   topics with their partitions, consumer lag (Kafka end offsets − Bronze next offsets, WARN above
   `LAKEHOUSE_HEALTH_MAX_LAG`), catalog reachable, warehouse writable with free space, Redis memory
   headroom, Spark master with ≥ 1 alive worker (standalone cluster), Airflow metadata DB reachable.
4. **readiness_report** – JSON + self-contained HTML (checks by layer, Data Docs links, row-count trend).
5. **quality_gate** – fails the run on any FAIL, a score below 95 %, or any WARN with `fail_on_warn`.

A failed gate mails one grouped alert (verdict, score, each breached check, link to the run's
Data quality view); a run not finished `LAKEHOUSE_NIGHTLY_DEADLINE_MINUTES` (120) after it was
queued (02:00 for the scheduled run) triggers a Deadline Alert. Both need `LAKEHOUSE_ALERT_EMAILS` and `smtp_default`.

Every check is a row in `audit.check_results`. The WAP audit of `kol_transform` runs the same checks
on its branch. Params: `layers`, `tables` (empty: all tables of the layers), `fail_on_warn`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from lakehouse.core.checks import failed_ids
from lakehouse.core.names import NIGHTLY_LAYERS
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags
from lakehouse.orchestration.notify import nightly_deadline
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator
from lakehouse.orchestration.params import dag_params, job_arguments
from lakehouse.orchestration.taskflow import quality_gate_task, readiness_report_task

CHECK_TASKS = ("lake_checks", "table_checks", "health_checks")


@dag(dag_id="kol_quality_nightly", tags=tags("quality", "nightly"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule="0 2 * * *", deadline=nightly_deadline(),
     params={**dag_params("quality_checks", layers=list(NIGHTLY_LAYERS), tables=[]),
             "fail_on_warn": Param(False, type="boolean", description="a WARN fails the run too")},
)
def kol_quality_nightly():
    @task.short_circuit(task_id="lake_published")
    def lake_published():
        from lakehouse.orchestration.tasks.checks import lake_published

        return lake_published()

    lake = LakehouseSparkSubmitOperator(
        task_id="lake_checks", job="quality_checks",
        application_args=job_arguments("quality_checks", branch="main"),
    )

    @task
    def table_checks(params=None, dag_run=None):
        from lakehouse.orchestration.errors import fail_fast_on_breach
        from lakehouse.quality.table_checks import table_checks

        with fail_fast_on_breach():  # a mistyped table will not appear by retrying: no retries
            results = table_checks(dag_id=dag_run.dag_id, run_id=dag_run.run_id, params=params)
        return {"checks": len(results), "failed": failed_ids(results)}

    @task
    def health_checks(params=None, dag_run=None):
        from lakehouse.quality.health import run_health_checks

        results = run_health_checks(dag_id=dag_run.dag_id, run_id=dag_run.run_id, params=params)
        return {"checks": len(results), "failed": failed_ids(results)}

    report = readiness_report_task(CHECK_TASKS)
    checks = [lake, table_checks(), health_checks()]
    lake_published() >> checks
    checks >> report >> quality_gate_task((*CHECK_TASKS, "readiness_report"))


kol_quality_nightly()
