"""Airflow tasks shared by the DAG files: the WAP Spark chain, the readiness report and the quality gate.

Kept light for DAG parsing: the task bodies (Arrow, pyiceberg, GX) are
imported when a task runs, not when the scheduler parses a DAG file.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow.sdk import task

from lakehouse.core.names import WAP_JOBS
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator
from lakehouse.orchestration.params import job_arguments

if TYPE_CHECKING:
    from airflow.sdk.definitions._internal.abstractoperator import AbstractOperator
    from airflow.sdk.types import DagRunProtocol, RuntimeTaskInstanceProtocol

    Task = AbstractOperator | Any  # an operator, or the XComArg a @task call returns

REPORT_TASK = "readiness_report"
LEASE_POOL = "default_pool"  # Airflow's own pool (128 slots)
GATE_TASK = "quality_gate"
DEFAULT_REPORT = "lakehouse.orchestration.tasks.checks:readiness_report"


def run_body(path: str, **kwargs: Any) -> Any:  # Any: the body's own keyword arguments and JSON result
    """Call ``module:function`` (imported now, at task run time)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)(**kwargs)


def upstream_results(ti: RuntimeTaskInstanceProtocol, task_ids: Iterable[str]) -> dict[str, Any]:
    """Each upstream task's XCom (None when it failed or returned nothing): what the report, the gate and
    the gate's alert judge the run by."""
    return {t: ti.xcom_pull(task_ids=t) for t in task_ids}


def publish_redis_task() -> Task:
    """Gold ``main`` to the Redis hot path, with its checks recorded for the gate."""

    @task(task_id="publish_redis")
    def publish_redis(dag_run: DagRunProtocol | None = None) -> Any:  # Airflow passes the context
        return run_body("lakehouse.orchestration.tasks.serving:publish_redis", dag_id=dag_run.dag_id,
                        run_id=dag_run.run_id)

    return publish_redis()


def quality_gate_task(expected_tasks: tuple[str, ...]) -> Task:
    """Final task: fails the DAG run on any FAIL (or WARN with Param ``fail_on_warn``), naming the checks;
    its failure sends the run's one grouped alert."""
    from lakehouse.orchestration.notify import QualityGateNotifier

    @task(task_id=GATE_TASK, trigger_rule="all_done", retries=0,
          on_failure_callback=QualityGateNotifier(expected_tasks))
    def quality_gate(ti: RuntimeTaskInstanceProtocol | None = None, dag_run: DagRunProtocol | None = None,
                     params: dict[str, Any] | None = None) -> Any:  # Airflow passes the context
        upstream = upstream_results(ti, expected_tasks)
        return run_body("lakehouse.orchestration.tasks.checks:quality_gate", dag_id=dag_run.dag_id,
                        run_id=dag_run.run_id, upstream=upstream, expected_tasks=expected_tasks,
                        fail_on_warn=bool((params or {}).get("fail_on_warn")))

    return quality_gate()


def readiness_report_task(expected_tasks: tuple[str, ...], body: str = DEFAULT_REPORT) -> Task:
    """Writes the JSON + HTML report and prints the terminal summary (``body``: the DAG's own report)."""

    @task(task_id=REPORT_TASK, trigger_rule="all_done", retries=0)
    def readiness_report(ti: RuntimeTaskInstanceProtocol | None = None, dag_run: DagRunProtocol | None = None,
                     params: dict[str, Any] | None = None) -> Any:  # Airflow passes the context
        upstream = upstream_results(ti, expected_tasks)
        return run_body(body, dag_id=dag_run.dag_id, run_id=dag_run.run_id, upstream=upstream,
                        expected_tasks=expected_tasks, fail_on_warn=bool((params or {}).get("fail_on_warn")))

    return readiness_report()


def wap_lease(first: Task, last: Task) -> None:
    """Hold the WAP lease from before ``first`` until after ``last`` (setup/teardown: released on failure too).

    The two lease tasks run in Airflow's ``default_pool``, not the lake pool: a run waiting for the lease must
    not hold a lake slot, or a lease holder that needs every slot (maintenance, erasure) would wait for it
    while it waits for the lease."""

    @task(task_id="acquire_wap_lease", pool=LEASE_POOL)
    def acquire_wap_lease(dag_run: DagRunProtocol | None = None) -> Any:  # Airflow passes the context
        return run_body("lakehouse.orchestration.lease:acquire_wap_lease", run_id=dag_run.run_id)

    @task(task_id="release_wap_lease", pool=LEASE_POOL)
    def release_wap_lease(dag_run: DagRunProtocol | None = None) -> Any:  # Airflow passes the context
        return run_body("lakehouse.orchestration.lease:release_wap_lease", run_id=dag_run.run_id)

    acquire = acquire_wap_lease().as_setup()
    release = release_wap_lease().as_teardown(setups=acquire)
    acquire >> first
    last >> release


TRAIN_JOB = "train_trust_model"
PUBLISH_JOB = WAP_JOBS[-1]


def publish_branch_task() -> Task:
    """Fast-forward ``main`` to the audited branch: pyiceberg ref commits in the task's process, no Spark."""

    @task(task_id=PUBLISH_JOB)
    def publish_branch(dag_run: DagRunProtocol | None = None) -> Any:  # Airflow passes the context
        return run_body("lakehouse.orchestration.tasks.wap:publish_branch", run_id=dag_run.run_id)

    return publish_branch()


def wap_chain(train: bool = False, first: str = WAP_JOBS[0]) -> list[Task]:
    """Three Spark jobs on the run's branch ``audit_<run id>`` (write, write, audit), the WARN policy's review
    step (:mod:`lakehouse.orchestration.review`), then publish (fast-forward).

    ``train``: train (and if its gates pass, promote) the trust model on this run's Silver
    before Gold is built, so Gold's trust scores come from it (the end-to-end run). ``first``: the job that
    writes Silver (``replay_quarantine`` in ``kol_quarantine_replay``).
    The DAG declares :func:`~lakehouse.orchestration.review.review_params` among its Params.
    """
    from lakehouse.orchestration.review import review_task

    jobs = (first, *((TRAIN_JOB,) if train else ()), *WAP_JOBS[1:])
    tasks: list[Task] = []
    for job in jobs:
        if job == PUBLISH_JOB:
            tasks.append(review_task(tuple(t.task_id for t in tasks)))
            tasks.append(publish_branch_task())
            continue
        # the readiness run's Params (profiles, seed …) describe its dataset, not a model: training keeps its own
        args = job_arguments(job, with_params=job != TRAIN_JOB)
        tasks.append(LakehouseSparkSubmitOperator(task_id=job, job=job, application_args=args))
    for upstream, downstream in zip(tasks, tasks[1:], strict=False):
        upstream >> downstream
    return tasks


def published_wap_chain(first: str = WAP_JOBS[0]) -> list[Task]:
    """A whole WAP DAG's tasks: :func:`wap_chain` from ``first``, the Redis publish, the readiness report and
    the gate (which account for every task of the chain and the Redis publish), under the WAP lease."""
    chain = wap_chain(first=first)
    published = publish_redis_task()
    expected = (*(getattr(t, "operator", t).task_id for t in chain), "publish_redis")  # an XComArg: its task
    chain[-1] >> published >> readiness_report_task(expected) >> quality_gate_task(expected)
    wap_lease(chain[0], published)  # one WAP chain at a time, across DAGs
    return chain
