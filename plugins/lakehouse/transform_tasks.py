"""The Bronze -> Silver -> Gold task chain with Write-Audit-Publish, shared by kol_transform and kol_platform_e2e."""

from __future__ import annotations

from lakehouse.operators.spark import LakehouseSparkSubmitOperator

WAP_JOBS = ("bronze_to_silver", "silver_to_gold", "audit_branch", "publish_branch")
TRAIN_JOB = "train_trust_model"


def wap_chain(full_rebuild: str = "false", train: bool = False) -> list[LakehouseSparkSubmitOperator]:
    """Four Spark jobs on the run's branch ``audit_<run id>``: write, write, audit, publish (fast-forward).

    ``train``: train (and if its gates pass, promote) the trust model on this run's Silver
    before Gold is built, so Gold's trust scores come from it (the end-to-end run).
    """
    jobs = WAP_JOBS if not train else (WAP_JOBS[0], TRAIN_JOB, *WAP_JOBS[1:])
    tasks = []
    for job in jobs:
        args = ["--dag-id", "{{ dag.dag_id }}", "--run-id", "{{ run_id }}"]
        if job == "bronze_to_silver":
            args += ["--full-rebuild", full_rebuild]
        tasks.append(LakehouseSparkSubmitOperator(task_id=job, job=job, application_args=args))
    for upstream, downstream in zip(tasks, tasks[1:], strict=False):
        upstream >> downstream
    return tasks
