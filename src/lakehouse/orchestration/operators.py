"""SparkSubmitOperator preconfigured for the lakehouse: jars, `lake` catalog, settings, result XCom."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from lakehouse.orchestration.airflow_env import SPARK_JOBS, venv_bin
from lakehouse.orchestration.errors import no_retry


class LakehouseSparkSubmitOperator(SparkSubmitOperator):
    """Submit ``spark_jobs/<job>.py`` through the ``spark_default`` connection.

    Jars and Spark conf come from ``lakehouse.spark.session`` at run time (so
    settings are read where the task runs, not where the DAG is parsed). The
    job's JSON result is returned, i.e. pushed to XCom.
    """

    def __init__(self, *, job: str, **kwargs):
        kwargs.setdefault("conn_id", "spark_default")
        kwargs.setdefault("name", f"lakehouse-{job}")
        kwargs.setdefault("application_args", ["--dag-id", "{{ dag.dag_id }}", "--run-id", "{{ run_id }}"])
        super().__init__(application=str(SPARK_JOBS / f"{job}.py"), **kwargs)
        self.job = job

    def execute(self, context):
        from lakehouse.orchestration.hooks import apply_connections
        from lakehouse.spark.session import spark_conf, spark_jars

        settings = apply_connections()
        self.conf = {**spark_conf(settings, secrets=False), **(self.conf or {})}
        self.jars = ",".join(spark_jars(settings))
        with tempfile.TemporaryDirectory(prefix="lakehouse-job-") as tmp:
            result_file = Path(tmp) / "result.json"
            self.application_args = [*(self.application_args or []), "--result-file", str(result_file)]
            self.env_vars = {
                **settings.to_env(),
                **(self.env_vars or {}),
                "PATH": venv_bin() + os.pathsep + os.environ.get("PATH", ""),
                # executors on a cluster use their own interpreter (PYSPARK_PYTHON from the env)
                "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
                "PYSPARK_DRIVER_PYTHON": sys.executable,
            }
            started = time.monotonic()
            try:
                super().execute(context)
            except Exception as exc:
                outcome = json.loads(result_file.read_text()) if result_file.exists() else {}
                if outcome.get("retryable") is False:  # the job said: a data breach (see spark.submit)
                    raise no_retry(f"{self.job}: {outcome['error']}") from exc
                raise
            if not result_file.exists():
                raise RuntimeError(f"spark job {self.job} finished without writing its result")
            result = json.loads(result_file.read_text())
            result["submit_seconds"] = round(time.monotonic() - started, 3)  # incl. JVM start
            return result
