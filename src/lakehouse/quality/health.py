"""Platform health: the infrastructure half of the readiness checklist, as checks of layer ``health``.

Run by ``kol_quality_nightly`` (recorded and gated like every other check) and by ``lakehouse doctor``.
Each check probes the real endpoint the platform uses, with a short timeout: an unreachable service is a
FAIL naming the endpoint (never a password), not a hang.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.names import TOPICS

LAYER = "health"
SOURCE = "health_checks"


def probe(check_id: str, table: str, body: Callable[[], CheckResult | list[CheckResult]]) -> list[CheckResult]:
    """Run one probe; any error becomes a FAIL of ``check_id`` saying what failed."""
    try:
        out = body()
    except Exception as exc:  # a probe's error is its finding: recorded as the check's FAIL, with the error
        return [CheckResult(check_id, LAYER, table, Status.FAIL, None, "reachable",
                            f"{type(exc).__name__}: {str(exc)[:300]}")]
    return out if isinstance(out, list) else [out]


# ---- broker -------------------------------------------------------------------------

def broker_checks(settings: Settings, timeout: float = 5.0) -> list[CheckResult]:
    """Broker reachable, every topic present with the expected partitions, and consumer lag per topic."""
    from lakehouse.kafka import admin

    metadata = []

    def reachable() -> CheckResult:
        metadata.append(admin(settings).list_topics(timeout=timeout))
        return CheckResult("health.broker", LAYER, settings.kafka_bootstrap, Status.PASS,
                           len(metadata[0].brokers), "reachable", f"{len(metadata[0].brokers)} broker(s)")

    results = probe("health.broker", settings.kafka_bootstrap, reachable)
    if not metadata:
        return results
    for topic in TOPICS.values():
        found = metadata[0].topics.get(topic)
        partitions = len(found.partitions) if found is not None and not found.error else 0
        results.append(compare(f"health.topic.{topic}", LAYER, topic, partitions, settings.kafka_partitions,
                               op=">=", details="partitions (0: the topic is missing)"))
        if partitions:
            results += probe(f"health.consumer_lag.{topic}", topic, functools.partial(lag_check, settings, topic))
    return results


def lag_check(settings: Settings, topic: str) -> CheckResult:
    """Records on the broker that Bronze has not consumed yet (from Bronze's next offsets to the end of the
    log), counted up to the threshold + 1."""
    from lakehouse.core.names import BRONZE_TABLES
    from lakehouse.iceberg.bookkeeping import recorded_state
    from lakehouse.iceberg.catalog import get_catalog
    from lakehouse.iceberg.snapshots import table_or_none
    from lakehouse.kafka import backlog

    table = table_or_none(get_catalog(settings), BRONZE_TABLES[topic])
    consumed = recorded_state(table).next if table is not None else {}
    lag, exact = backlog(settings, topic, consumed, limit=settings.health_max_lag)
    check_id, limit, what = f"health.consumer_lag.{topic}", settings.health_max_lag, "records not yet in Bronze"
    if not exact:  # stopped counting past the threshold
        return CheckResult(check_id, LAYER, topic, Status.WARN, f">{limit}", f"<= {limit}", what)
    return compare(check_id, LAYER, topic, lag, limit, op="<=", on_fail=Status.WARN, details=what)


# ---- catalog, warehouse ------------------------------------------------------------------

def catalog_check(settings: Settings) -> CheckResult:
    from lakehouse.iceberg.catalog import get_catalog

    namespaces = get_catalog(settings).list_namespaces()
    return CheckResult("health.catalog", LAYER, settings.catalog_sqlalchemy_uri, Status.PASS, len(namespaces),
                       "reachable", f"{len(namespaces)} namespace(s)")


def warehouse_checks(settings: Settings) -> list[CheckResult]:
    """The warehouse takes a write (a probe file written and deleted) and has free space above the minimum."""
    uri = settings.warehouse_uri
    if not uri.startswith("file:"):
        return [s3_warehouse_check(settings)]
    root = Path(urlsplit(uri).path)
    probe_file = root / ".lakehouse-health-probe"
    probe_file.write_bytes(b"ok")
    probe_file.unlink()
    import psutil

    free_gb = round(psutil.disk_usage(str(root)).free / 2**30, 2)
    return [CheckResult("health.warehouse_writable", LAYER, uri, Status.PASS, True, "a file can be written"),
            compare("health.warehouse_free_gb", LAYER, uri, free_gb, settings.health_min_free_gb, op=">=",
                    details="free space on the warehouse's file system (GiB)")]


def s3_warehouse_check(settings: Settings) -> CheckResult:
    """An S3/MinIO warehouse: the bucket takes a put and a delete (boto3; credentials from AWS_* env)."""
    import boto3

    parts = urlsplit(settings.warehouse_uri)
    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint or None)
    key = parts.path.lstrip("/").rstrip("/") + "/.lakehouse-health-probe"
    s3.put_object(Bucket=parts.netloc, Key=key, Body=b"ok")
    s3.delete_object(Bucket=parts.netloc, Key=key)
    return CheckResult("health.warehouse_writable", LAYER, settings.warehouse_uri, Status.PASS, True,
                       "an object can be written")


# ---- redis, spark, airflow ------------------------------------------------------------

def redis_check(settings: Settings) -> CheckResult:
    """Redis answers and has headroom below its ``maxmemory`` (no maxmemory: the host's memory)."""
    from lakehouse.serving.redis_publish import redis_client

    info = redis_client(settings).info("memory")
    limit = int(info.get("maxmemory") or 0) or int(info.get("total_system_memory") or 0)
    headroom = round(1 - int(info["used_memory"]) / limit, 4) if limit else 1.0
    return compare("health.redis_memory_headroom", LAYER, settings.redis_url, headroom,
                   settings.health_min_redis_headroom, op=">=",
                   details=f"used {info.get('used_memory_human')} of {'maxmemory' if info.get('maxmemory') else 'host'}")


def spark_check(settings: Settings) -> CheckResult:
    """A standalone master is ALIVE with at least one ALIVE worker (local Spark: nothing to probe)."""
    if not settings.spark_master.startswith("spark://"):
        return CheckResult("health.spark_workers", LAYER, settings.spark_master, Status.SKIP, None, ">= 1",
                           "local Spark: no cluster to probe")
    if not settings.spark_master_ui_url:
        return CheckResult("health.spark_workers", LAYER, settings.spark_master, Status.SKIP, None, ">= 1",
                           "set LAKEHOUSE_SPARK_MASTER_UI_URL to probe the master")
    from lakehouse.services.cluster import alive_workers, master_status

    status = master_status(settings, timeout=5)
    workers = len(alive_workers(status)) if status.get("status") == "ALIVE" else 0
    return compare("health.spark_workers", LAYER, settings.spark_master, workers, 1, op=">=",
                   details=f"master {status.get('status')}, alive workers")


def spark_archive_check(settings: Settings) -> CheckResult:
    """The Spark drivers' class-data archive is there and the JVM maps it for their classpath.

    Without it every Spark task starts ~2.5 s slower, and silently: the JVM drops an archive that no longer
    fits its classpath or JDK without a word (a reinstalled pyspark did that to every task here)."""
    from lakehouse.spark.class_archive import archive_path, maps

    path = archive_path(settings)
    if path is None:
        return CheckResult("health.spark_driver_archive", LAYER, "-", Status.SKIP, None, "maps", "no JDK found")
    mapped = maps(path)
    return CheckResult("health.spark_driver_archive", LAYER, str(path), Status.PASS if mapped else Status.WARN,
                       mapped, "maps", "" if mapped else (
                           "missing, or refused by the JVM (its classpath or JDK changed since it was recorded): "
                           "Spark drivers start uncached; run `make setup` to record it"))


AIRFLOW_DB_BLOCKED = "airflow-db-not-allowed"  # what Airflow 3 puts in a task process's DB URL


def airflow_db_check(settings: Settings) -> CheckResult:
    """Airflow's metadata DB answers: probed directly with the URL Airflow is configured with (its env, else the
    settings'); from inside an Airflow task, where Airflow 3 blocks its DB on purpose, through its API's
    health endpoint, which reports the metadata DB as Airflow sees it."""
    import os

    from sqlalchemy import create_engine, make_url, text

    configured = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if configured.startswith(AIRFLOW_DB_BLOCKED):
        return airflow_api_health_check()
    url = make_url(configured or settings.airflow_db_connect_uri())
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return CheckResult("health.airflow_db", LAYER, shown, Status.FAIL, False, "reachable",
                           "no SQLite metadata DB there: run `make setup` (airflow db migrate)")
    connect_args = {} if url.get_backend_name() == "sqlite" else {"connect_timeout": 5}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return CheckResult("health.airflow_db", LAYER, shown, Status.PASS, True, "reachable")


def airflow_api_health_check() -> CheckResult:
    """``GET /api/v2/monitor/health`` of the API server this task reports to (no auth needed)."""
    import json
    import os
    import urllib.request

    base = os.environ.get("AIRFLOW__API__BASE_URL", "").rstrip("/")
    if not base:
        return CheckResult("health.airflow_db", LAYER, "-", Status.SKIP, None, "healthy",
                           "inside an Airflow task the metadata DB is closed by design; set AIRFLOW__API__BASE_URL "
                           "to probe it through Airflow's health endpoint")
    with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=10) as response:
        health = json.loads(response.read())
    status = (health.get("metadatabase") or {}).get("status")
    return CheckResult("health.airflow_db", LAYER, base, Status.PASS if status == "healthy" else Status.FAIL,
                       status, "healthy", f"metadata DB as Airflow's API server reports it; scheduler "
                                          f"{(health.get('scheduler') or {}).get('status')}")


def health_checks(settings: Settings) -> list[CheckResult]:
    """Every health check, in the order a reader fixes things: broker, catalog, warehouse, Redis, Spark,
    Airflow."""
    return [
        *broker_checks(settings),
        *probe("health.catalog", settings.catalog_sqlalchemy_uri, lambda: catalog_check(settings)),
        *probe("health.warehouse_writable", settings.warehouse_uri, lambda: warehouse_checks(settings)),
        *probe("health.redis_memory_headroom", settings.redis_url, lambda: redis_check(settings)),
        *probe("health.spark_workers", settings.spark_master, lambda: spark_check(settings)),
        *probe("health.spark_driver_archive", str(settings.jar_cache_dir), lambda: spark_archive_check(settings)),
        *probe("health.airflow_db", settings.airflow_db_sqlalchemy_uri, lambda: airflow_db_check(settings)),
    ]


def run_health_checks(*, dag_id: str, run_id: str, params: dict[str, Any] | None = None,
                      settings: Settings | None = None) -> list[CheckResult]:
    """The nightly's health task: :func:`health_checks` when layer ``health`` is selected, recorded under
    ``health_checks`` for the report and the gate."""
    from lakehouse.config import get_settings
    from lakehouse.quality.store import record
    from lakehouse.quality.table_checks import scope

    settings = settings or get_settings()
    layers, _ = scope(params)
    results = health_checks(settings) if LAYER in layers else []
    record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=results)
    return results
