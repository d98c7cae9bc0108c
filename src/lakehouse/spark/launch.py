"""How a ``spark_jobs/<job>.py`` is submitted: conf, jars and environment, decided once.

Airflow's SparkSubmitOperator (``lakehouse.orchestration.operators``) hands these
to ``SparkSubmitHook``; ``make bench transform`` builds the same ``spark-submit``
command line from them, so the benchmark measures what a task pays.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lakehouse.config import Settings
from lakehouse.spark.session import driver_jvm_options, spark_conf, spark_jars


@dataclass(frozen=True)
class Submission:
    """One job's spark-submit inputs; ``conf`` holds no secret (``ps`` shows the command line)."""

    job: str
    conf: dict[str, str]
    jars: str
    env: dict[str, str]
    application: Path  # the project's spark_jobs/<job>.py

    def command(self, master: str, args: list[str]) -> list[str]:
        """The ``spark-submit`` command line SparkSubmitHook builds for a ``spark`` connection to ``master``."""
        conf = [part for key, value in self.conf.items() for part in ("--conf", f"{key}={value}")]
        return [str(Path(sys.executable).parent / "spark-submit"), "--master", master, *conf, "--jars", self.jars,
                "--name", f"lakehouse-{self.job}", str(self.application), *args]


SMALL_INPUT_JIT = "-XX:TieredStopAtLevel=1"  # C1 only: cheap, quick compiles for a short JVM on little data


def submission(settings: Settings, job: str, small_input: bool = False) -> Submission:
    """Conf without the catalog password (the driver reads it from ``env``), the jars, and the job's env.

    ``small_input``: the driver JVM and, on a standalone cluster, the executors' compile with C1 only
    (see :mod:`lakehouse.jobs.sizing`, which decides it).
    """
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **settings.to_env(),
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        # executors on a cluster use their own interpreter (PYSPARK_PYTHON from the env)
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    conf = spark_conf(settings, secrets=False)
    if small_input:
        conf["spark.driver.extraJavaOptions"] = driver_jvm_options(settings, SMALL_INPUT_JIT)
        if settings.spark_master.startswith("spark://"):  # executors are JVMs of their own there
            conf["spark.executor.extraJavaOptions"] = SMALL_INPUT_JIT
    return Submission(job, conf, ",".join(spark_jars(settings)), env, settings.spark_jobs_dir / f"{job}.py")
