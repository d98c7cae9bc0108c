"""SparkSubmitOperator preconfigured for the lakehouse: jars, `lake` catalog, settings, result XCom."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from lakehouse.orchestration.errors import no_retry

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

    from lakehouse.core.checks import CheckResult


class LakehouseSparkSubmitOperator(SparkSubmitOperator):
    """Submit ``spark_jobs/<job>.py`` through the ``spark_default`` connection.

    Jars, Spark conf and the job's script (under the project's ``spark_jobs/``) come
    from ``lakehouse.spark.launch`` at run time (so settings are read where the task
    runs, not where the DAG is parsed). The job's JSON result is returned, i.e.
    pushed to XCom.
    """

    def __init__(self, *, job: str, **kwargs: Any) -> None:  # Any: SparkSubmitOperator's own arguments
        kwargs.setdefault("conn_id", "spark_default")
        kwargs.setdefault("name", f"lakehouse-{job}")
        kwargs.setdefault("application_args", ["--dag-id", "{{ dag.dag_id }}", "--run-id", "{{ run_id }}"])
        super().__init__(application=f"spark_jobs/{job}.py", **kwargs)  # resolved in the project at run time
        self.job = job
        self._result: dict[str, Any] = {}  # the job's result, for the OpenLineage hooks below

    def execute(self, context: Context) -> dict[str, Any]:
        from lakehouse.jobs.sizing import sized_submission
        from lakehouse.orchestration.hooks import apply_connections

        full_rebuild = (context.get("params") or {}).get("full_rebuild") is True  # a typed Param, never text
        launch, sizing = sized_submission(apply_connections(), self.job, full_rebuild=full_rebuild)
        self.log.info("%s reads %s rows: %s JIT", self.job, f"{sizing['input_rows']:,}",
                      "C1-only" if sizing["small_input"] else "tiered C2")
        self.application = str(launch.application)
        self.conf = {**launch.conf, **(self.conf or {})}
        self.jars = launch.jars
        with tempfile.TemporaryDirectory(prefix="lakehouse-job-") as tmp:
            result_file = Path(tmp) / "result.json"
            self.application_args = [*(self.application_args or []), "--result-file", str(result_file)]
            self.env_vars = {**launch.env, **(self.env_vars or {})}
            started = time.monotonic()
            try:
                super().execute(context)
            except Exception as exc:  # re-raised, as a no-retry failure when the job said so
                outcome = json.loads(result_file.read_text()) if result_file.exists() else {}
                if outcome.get("retryable") is False:  # the job said: a data breach (see spark.submit)
                    raise no_retry(f"{self.job}: {outcome['error']}") from exc
                raise
            if not result_file.exists():
                raise RuntimeError(f"spark job {self.job} finished without writing its result")
            result = json.loads(result_file.read_text())
            result["submit_seconds"] = round(time.monotonic() - started, 3)  # incl. JVM start
            result["sizing"] = sizing
            self._result = result
            return result

    # OpenLineage: the provider's listener calls these after execute, in the task's process.
    def get_openlineage_facets_on_complete(self, task_instance: RuntimeTaskInstanceProtocol) -> OperatorLineage:
        return self._lineage(task_instance)

    def get_openlineage_facets_on_failure(self, task_instance: RuntimeTaskInstanceProtocol) -> OperatorLineage:
        return self._lineage(task_instance)  # the audit's checks, recorded before it failed

    def _lineage(self, task_instance: RuntimeTaskInstanceProtocol) -> OperatorLineage:
        from lakehouse.core.names import run_branch
        from lakehouse.orchestration.lineage import job_lineage

        return job_lineage(self.job, self._result, self._recorded_checks(task_instance),
                           run_branch(task_instance.run_id))

    def _recorded_checks(self, task_instance: RuntimeTaskInstanceProtocol) -> list[CheckResult]:
        """The checks the audit recorded for this run (the other jobs record none of tables)."""
        from lakehouse.jobs.transform import AUDIT_SOURCE
        from lakehouse.orchestration.hooks import apply_connections
        from lakehouse.quality.store import run_results

        if self.job != AUDIT_SOURCE:
            return []
        return [c for c in run_results(apply_connections(), task_instance.dag_id, task_instance.run_id)
                if c.extra.get("source") == AUDIT_SOURCE]
