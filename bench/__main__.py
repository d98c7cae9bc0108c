"""`make bench`: run every benchmark, write bench/results/<name>.json, print a summary."""

from __future__ import annotations

import argparse
import json

from bench import e2e, erasure, etl, ingest, maintenance, ml, quality, scores, serving, transform
from bench.common import write_result

BENCHMARKS = {"ingest": ingest.run, "etl": etl.run, "quality": quality.run, "ml": ml.run,
              "serving": serving.run, "maintenance": maintenance.run, "scores": scores.run, "e2e": e2e.run,
              "transform": transform.run, "erasure": erasure.run}


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("names", nargs="*", help=f"subset of {sorted(BENCHMARKS)} (default: all)")
    args = parser.parse_args()
    for name in args.names or list(BENCHMARKS):
        if name not in BENCHMARKS:
            parser.error(f"unknown benchmark {name!r}; choose from {sorted(BENCHMARKS)}")
        result = BENCHMARKS[name]()
        path = write_result(name, result)
        print(f"{name}: {json.dumps(result)}\n  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
