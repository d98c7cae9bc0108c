"""Common entry point for spark-submit jobs: args, session, JSON result line, exit code.

On failure the result file says whether a retry can help
(:func:`lakehouse.core.errors.is_data_breach`); the Airflow operator reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.core.errors import is_data_breach
from lakehouse.core.names import run_branch
from lakehouse.core.params import validated
from lakehouse.spark.phases import PROFILE, phase
from lakehouse.spark.session import get_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RESULT_PREFIX = "LAKEHOUSE_RESULT "


def main(app_name: str, body: Callable[..., object], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=app_name)
    parser.add_argument("--dag-id", default="")
    parser.add_argument("--run-id", default="")
    parser.add_argument("--result-file", default="", help="write the JSON result here too")
    parser.add_argument("--branch", default="", help="WAP branch; default: audit_<run id>, 'main' to write main")
    parser.add_argument("--params", default="{}", help="JSON object of the DAG run's Params for the job")
    args = parser.parse_args(argv)

    branch = None if args.branch == "main" else (args.branch or run_branch(args.run_id))
    PROFILE.announce = True
    with phase("session"):
        spark = get_session(app_name)
    try:
        try:
            with phase("job"):
                params = validated(app_name, json.loads(args.params or "{}"))  # the DAG's Params' own schema
                result = body(spark, dag_id=args.dag_id, run_id=args.run_id, branch=branch,
                              full_rebuild=params.get("full_rebuild") is True, params=params)
        except Exception as exc:  # re-raised after telling the operator whether a retry can help
            if args.result_file:  # tell the operator whether a retry can help
                Path(args.result_file).write_text(json.dumps(
                    {"error": str(exc), "kind": type(exc).__name__,
                     "retryable": not is_data_breach(exc)}))
            raise
        if isinstance(result, dict):
            result["profile"] = {"startup": startup(spark), "phases": PROFILE.to_dict()}
        text = json.dumps(result, default=str)
        print(RESULT_PREFIX + text, flush=True)
        if args.result_file:
            Path(args.result_file).write_text(text)
        return 0
    finally:
        spark.stop()


def startup(spark: SparkSession) -> dict[str, float]:
    """Seconds from the spark-submit JVM's start to this Python driver's start, to the SparkContext
    being up, and to now (the job done): the fixed cost a task pays before its work."""
    import psutil

    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # in-process (tests, benchmarks): no submit to time
        return {}
    me = psutil.Process()
    jvm_started = me.parent().create_time()
    return {"python_started": round(me.create_time() - jvm_started, 3),
            "context_up": round(spark.sparkContext.startTime / 1000 - jvm_started, 3),
            "job_done": round(time.time() - jvm_started, 3)}


def run_job(app_name: str, body: Callable[..., object]) -> None:
    """``sys.exit`` with :func:`main`'s code: the body of a ``spark_jobs/<job>.py`` file."""
    sys.exit(main(app_name, body))
