"""Shared benchmark plumbing: an isolated embedded stack and the JSON result file."""

from __future__ import annotations

import contextlib
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.config import Settings

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def embedded_stack():
    """Broker + Redis on free ports and an empty catalog under a temp state dir."""
    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.services.manager import ServiceManager, free_port

    with tempfile.TemporaryDirectory(prefix="kol-bench-") as tmp:
        settings = Settings.from_env().replace(
            state_dir=Path(tmp),
            kafka_bootstrap=f"127.0.0.1:{free_port()}",
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
        )
        init_catalog(settings)
        manager = ServiceManager(settings)
        manager.up(log=lambda *_: None)
        try:
            yield settings, manager
        finally:
            manager.down(log=lambda *_: None)


@contextlib.contextmanager
def spark_lake(name: str):
    """An empty embedded lake under a temp state dir and a warm-able Spark session bound to it."""
    import os

    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.spark.session import get_session

    with tempfile.TemporaryDirectory(prefix=f"kol-bench-{name}-") as tmp:
        settings = Settings.from_env().replace(state_dir=Path(tmp))
        os.environ.update(settings.to_env())  # the jobs read Iceberg metadata through env settings
        init_catalog(settings)
        spark = get_session(f"bench-{name}", settings)
        try:
            yield settings, spark
        finally:
            spark.stop()


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def median(values):
    return round(statistics.median(values), 4)


def write_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        **result,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
