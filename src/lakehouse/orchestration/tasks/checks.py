"""The two tasks that end every DAG that runs checks: the readiness report and the quality gate.

Both run with trigger rule ``all_done``: the report is written whatever
broke, and the gate is the one place that decides the run, reading every
check the run recorded in ``audit.check_results`` plus the tasks that failed.
Both apply the same verdict (:func:`lakehouse.core.checks.verdict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status, gate
from lakehouse.orchestration.errors import fail_fast_on_breach
from lakehouse.quality.counts import layer_counts
from lakehouse.quality.report import build_report, render_terminal, write_report
from lakehouse.quality.store import row_count_trend, run_results


def lake_published(settings: Settings | None = None) -> bool:
    """Whether the lake has ever published (the nightly's short-circuit): before the first publish there is
    nothing to judge, and a missing table is not a vanished one."""
    from lakehouse.core.names import WAP_TABLES
    from lakehouse.iceberg.catalog import first_publish, get_catalog

    published = first_publish(get_catalog(settings or get_settings()), WAP_TABLES)
    if published is None:
        print("nothing published yet: no kol_transform or kol_platform_e2e run has published the lake, so the "
              "nightly skips its checks (the first publish turns them on)")
        return False
    print(f"the lake has published ({published}): every check runs")
    return True


def enforce_gate(results: list[CheckResult], **kwargs: Any) -> float:  # Any: core.checks.gate's options
    """Apply the gate; a breach fails the task at once."""
    with fail_fast_on_breach():
        return gate(results, **kwargs)


def task_checks(upstream: dict[str, Any], expected_tasks: Sequence[str]) -> list[CheckResult]:
    """A FAIL for each expected task that failed or returned nothing (its XCom is missing)."""
    return [CheckResult(f"task.{task_id}", "orchestration", "-", Status.FAIL, details="task failed or returned nothing")
            for task_id in expected_tasks if upstream.get(task_id) in (None, [])]


def run_checks(settings: Settings, dag_id: str, run_id: str, upstream: dict[str, Any], expected_tasks: Sequence[str]) -> list[CheckResult]:
    """What the report shows and the gate judges: failed tasks plus every check the run recorded."""
    return task_checks(upstream, expected_tasks) + run_results(settings, dag_id, run_id)


def timings(upstream: dict) -> dict[str, float]:
    """Seconds per upstream task, from its XCom: a Spark job's ``submit_seconds`` (JVM start included),
    else ``seconds``; for a mapped task, its slowest instance."""
    out = {}
    for task_id, result in upstream.items():
        results = result if isinstance(result, list) else [result]
        seconds = [r.get("submit_seconds", r.get("seconds")) for r in results if isinstance(r, dict)]
        seconds = [s for s in seconds if isinstance(s, int | float)]
        if seconds:
            out[task_id] = round(max(seconds), 3)
    return out


def readiness_report(*, dag_id: str, run_id: str, upstream: dict[str, Any], expected_tasks: Sequence[str], counts: dict[str, Any] | None = None,
                     extra: dict[str, Any] | None = None, fail_on_warn: bool = False, settings: Settings | None = None) -> dict[str, Any]:
    """Every check this run recorded, plus failed tasks, as JSON + HTML + a terminal summary.

    Runs even when upstream tasks failed (trigger rule all_done), so the report
    always says what broke. It does not decide the run: the ``quality_gate`` task does.
    """
    settings = settings or get_settings()
    checks = run_checks(settings, dag_id, run_id, upstream, expected_tasks)
    data_docs = {}
    for result in upstream.values():
        if isinstance(result, dict):
            data_docs.update(result.get("data_docs") or {})
    report = build_report(
        dag_id=dag_id, run_id=run_id, counts=counts if counts is not None else layer_counts(settings),
        timings=timings(upstream), checks=checks, fail_on_warn=fail_on_warn,
        extra={**(extra or {}), "trend": row_count_trend(settings, dag_id), "data_docs": data_docs},
    )
    path = write_report(report, settings.reports_dir)
    print(render_terminal(report))
    print(f"report: {path.with_suffix('.html')}")
    return {"path": str(path), "html": str(path.with_suffix(".html")), "score": report["score"],
            "passed": report["gate"]["passed"]}


def quality_gate(*, dag_id: str, run_id: str, upstream: dict[str, Any], expected_tasks: Sequence[str], fail_on_warn: bool = False,
                 settings: Settings | None = None) -> dict[str, Any]:
    """Fail the DAG run if any check of this run FAILed (or WARNed, when asked) or a task failed."""
    settings = settings or get_settings()
    checks = run_checks(settings, dag_id, run_id, upstream, expected_tasks)
    score = enforce_gate(checks, fail_on_warn=fail_on_warn)
    print(f"quality gate passed: {len(checks)} checks, score {score}%")
    return {"checks": len(checks), "score": score}

