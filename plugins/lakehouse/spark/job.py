"""Common entry point for spark-submit jobs: args, session, JSON result line, exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

RESULT_PREFIX = "LAKEHOUSE_RESULT "


def main(app_name: str, body: Callable[..., object], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=app_name)
    parser.add_argument("--dag-id", default="")
    parser.add_argument("--run-id", default="")
    parser.add_argument("--result-file", default="", help="write the JSON result here too")
    args = parser.parse_args(argv)

    from lakehouse.spark.session import get_session

    spark = get_session(app_name)
    try:
        result = body(spark, dag_id=args.dag_id, run_id=args.run_id)
        text = json.dumps(result, default=str)
        print(RESULT_PREFIX + text, flush=True)
        if args.result_file:
            Path(args.result_file).write_text(text)
        return 0
    finally:
        spark.stop()


def run(app_name: str, body: Callable[..., object]) -> None:
    sys.exit(main(app_name, body))
