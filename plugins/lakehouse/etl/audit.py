"""The audit of a WAP branch: counts, accounting, lineage and every expectation suite, before publish.

Everything is read as of the run's branch (``VERSION AS OF '<branch>'``), so
what is audited is exactly what publishing would expose. A FAIL raises
:class:`AuditError` naming the rule, the observed value and up to 20
offending rows; ``main`` stays untouched and the branch stays for inspection.
"""

from __future__ import annotations

from lakehouse.quality.results import CheckResult, DataBreach, Status


class AuditError(DataBreach):
    def __init__(self, branch: str, failed: list[CheckResult]):
        self.failed = failed
        lines = [f"audit of branch {branch!r} failed; main was not changed, the branch is kept for inspection:"]
        for r in failed:
            lines.append(f"  FAIL {r.check_id} [{r.table}] observed={r.observed} threshold={r.threshold} {r.details}")
        super().__init__("\n".join(lines))


def audit_branch(spark, branch: str | None, *, suites: dict | None = None, runner=None) -> list[CheckResult]:
    """The lake checks of Silver and Gold as of ``branch``: what publishing would expose."""
    from lakehouse.quality.lake_checks import lake_checks

    return lake_checks(spark, branch, layers=("silver", "gold"), suites=suites, runner=runner)


def run(spark, *, branch: str | None = None, dag_id: str = "", run_id: str = "", **_) -> dict:
    from lakehouse.config import get_settings
    from lakehouse.quality.store import record
    from lakehouse.quality.suites import SuiteRunner

    settings = get_settings()
    runner = SuiteRunner(settings.reports_dir, f"{dag_id}__{run_id}") if run_id else None
    results = audit_branch(spark, branch, runner=runner)
    data_docs = runner.build_docs() if runner else {}
    if run_id:  # pass or fail, the audit's results are kept
        record(settings, dag_id=dag_id, run_id=run_id, source="audit_branch", results=results)
    failed = [r for r in results if r.status == Status.FAIL]
    if failed:
        raise AuditError(branch or "main", failed)
    return {"branch": branch, "checks": [r.to_dict() for r in results],
            "warnings": sum(r.status == Status.WARN for r in results), "data_docs": data_docs}
