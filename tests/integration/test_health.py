"""Platform health checks (`lakehouse doctor`, the nightly's health layer) against real services."""

import subprocess
import sys

import pytest

from lakehouse.core.checks import Status
from lakehouse.quality.health import health_checks

pytestmark = pytest.mark.integration


def by_id(results):
    return {r.check_id: r for r in results}


def test_a_healthy_platform_passes_lag_warns_and_a_stopped_redis_fails_doctor(settings, services, catalog,
                                                                               airflow_db):
    from lakehouse.core.names import TOPICS
    from lakehouse.kafka import backlog, producer
    from lakehouse.orchestration.airflow_env import airflow_env

    settings = settings.replace(health_max_lag=3)
    results = by_id(health_checks(settings))
    assert {k: r.status for k, r in results.items() if r.status != Status.PASS} == {
        "health.spark_workers": Status.SKIP}  # local Spark: no cluster to probe
    assert results[f"health.consumer_lag.{TOPICS['profiles']}"].observed == 0
    assert results[f"health.topic.{TOPICS['profiles']}"].observed == settings.kafka_partitions

    sender = producer(settings)
    for i in range(5):  # on the broker, not yet in Bronze
        sender.produce(TOPICS["profiles"], key=str(i), value=b"{}")
    sender.flush(10)
    lag = by_id(health_checks(settings))[f"health.consumer_lag.{TOPICS['profiles']}"]
    # counting stops past the threshold: 5 when one fetch brought all five, else the bound ">3" (under load)
    assert lag.status == Status.WARN and lag.threshold == "<= 3" and lag.observed in (5, ">3")
    assert backlog(settings, TOPICS["profiles"], {}, limit=100) == (5, True)  # read to the end: exactly 5

    services.stop_pid(services.pid_of("redis"))
    env = {**airflow_env(settings), "LAKEHOUSE_HEALTH_MAX_LAG": "3"}
    doctor = subprocess.run([sys.executable, "-m", "lakehouse.cli", "doctor"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL health.redis_memory_headroom" in doctor.stdout and "ConnectionError" in doctor.stdout
    assert f"WARN health.consumer_lag.{TOPICS['profiles']}" in doctor.stdout


def test_missing_topic_unwritable_warehouse_and_no_airflow_db_fail(settings, services, catalog, tmp_path,
                                                                   monkeypatch):
    from lakehouse.kafka import admin

    client = admin(settings)
    client.delete_topics(["kol-videos-raw"])["kol-videos-raw"].result(10)
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    absent = tmp_path / "absent"
    results = by_id(health_checks(settings.replace(
        warehouse=(absent / "wh").as_uri(), jar_cache_dir=tmp_path / "no-archive",
        airflow_db_uri=f"sqlite:///{tmp_path / 'nope' / 'airflow.db'}")))
    assert results["health.topic.kol-videos-raw"].status == Status.FAIL
    assert results["health.topic.kol-videos-raw"].observed == 0
    assert results["health.warehouse_writable"].status == Status.FAIL
    assert results["health.airflow_db"].status == Status.FAIL
    assert "airflow db migrate" in results["health.airflow_db"].details
    archive = results["health.spark_driver_archive"]  # drivers would start uncached: said, not silent
    assert archive.status == Status.WARN and "make setup" in archive.details


def test_inside_an_airflow_task_the_db_is_probed_through_the_api_or_skipped(settings, monkeypatch):
    """Airflow 3 gives a task process a DB URL that cannot connect, on purpose: ask the API server instead."""
    from lakehouse.quality.health import airflow_db_check

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-db-not-allowed:///")
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    result = airflow_db_check(settings)
    assert result.status == Status.SKIP and "AIRFLOW__API__BASE_URL" in result.details
