"""The cluster profile on this machine, no Docker: PostgreSQL (Iceberg JDBC catalog for Spark and pyiceberg,
Airflow's metadata DB), a Spark standalone master with two workers (each its own JVM, jobs submitted with
``spark://`` through ``spark_default``), Redis with a password and an ACL user.

``kol_platform_e2e`` (2,000 profiles) runs with one worker SIGKILLed mid-job, then ``kol_quality_nightly``;
every output is searched for the passwords. Run alone: ``pytest -m cluster``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from lakehouse.config import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

PROFILES = 2_000


@pytest.fixture(scope="module")
def cluster():
    """The profile's services on free ports (a state dir PostgreSQL's OS user can reach), stopped after."""
    from conftest import make_settings

    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.services.cluster import cluster_profile
    from lakehouse.services.manager import ServiceManager

    root = Path(tempfile.mkdtemp(prefix="kol-cluster-"))
    root.chmod(0o755)
    settings = cluster_profile(make_settings(root / "state"), catalog_password=_secret("cat"),
                               airflow_db_password=_secret("afdb"), redis_password=_secret("redis"))
    manager = ServiceManager(settings)
    outputs: list[str] = []
    manager.up(log=outputs.append)
    try:
        init_catalog(settings)
        yield settings, manager, outputs
    finally:
        manager.down(log=outputs.append)
        shutil.rmtree(root, ignore_errors=True)


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


def airflow_cluster_env(settings: Settings) -> dict[str, str]:
    """Airflow on the profile's PostgreSQL; the catalog reaches the tasks through the ``iceberg_catalog``
    connection only (no catalog password in the lakehouse settings of the Airflow processes)."""
    from lakehouse.orchestration.airflow_env import airflow_env

    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LAKEHOUSE_"))}
    env = airflow_env(settings.replace(catalog_password=""), base=base)
    host_port = settings.catalog_sqlalchemy_uri.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    env["AIRFLOW_CONN_ICEBERG_CATALOG"] = json.dumps({
        "conn_type": "postgres", "host": host, "port": int(port), "schema": "iceberg",
        "login": settings.catalog_user, "password": settings.catalog_password})
    return env


def run_logged(cmd: list[str], env: dict, log: Path, timeout: float = 1500) -> int:
    with open(log, "w") as out:
        return subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode


def kill_worker_mid_job(manager, names: list[str], min_age: float, found: dict, stop: threading.Event) -> None:
    """SIGKILL the first worker JVM of ``names`` on which an executor of a job has run ``min_age`` s, with its
    executors (a lost host, mid-job), then start that worker again, as a supervisor would; records what it
    killed in ``found``."""
    from lakehouse.services.cluster import worker_executors

    workers = {name: manager.pid_of(name) for name in names}
    while not stop.is_set():
        for name, worker in workers.items():
            executors = worker_executors(worker)
            ages = []
            for pid in executors:
                with contextlib.suppress(psutil.NoSuchProcess):  # an executor may end between the two calls
                    ages.append(time.time() - psutil.Process(pid).create_time())
            if ages and max(ages) >= min_age:
                for pid in (worker, *executors):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                found.update(name=name, worker=worker, executors=executors, executor_age=max(ages))
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(worker).wait(10)  # reap it: our child
                manager.up(log=lambda *_: None)  # only the missing worker starts; the rest is running
                found["restarted"] = manager.pid_of(name)
                return
        time.sleep(0.2)


def test_e2e_and_nightly_on_the_cluster_survive_a_killed_worker_and_print_no_secret(cluster, tmp_path):
    from lakehouse.orchestration.airflow_env import ensure_pools
    from lakehouse.services.cluster import alive_workers, master_status

    settings, manager, outputs = cluster
    env = airflow_cluster_env(settings)
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                             text=True)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    outputs += [migrate.stdout, migrate.stderr]
    ensure_pools(env)

    found, stop = {}, threading.Event()
    killer = threading.Thread(target=kill_worker_mid_job,
                              args=(manager, ["spark-worker-1", "spark-worker-2"], 4.0, found, stop))
    killer.start()
    try:
        e2e_log = tmp_path / "e2e.log"
        code = run_logged([sys.executable, "-m", "airflow", "dags", "test", "kol_platform_e2e", "--conf",
                           json.dumps({"profiles": PROFILES, "bad_fraction": 0.02, "seed": 11})], env, e2e_log)
    finally:
        stop.set()
        killer.join()
    assert found, "no executor ever ran on a worker"
    assert code == 0, e2e_log.read_text()[-5000:]
    report = json.loads((settings.reports_dir / "kol_platform_e2e" / "latest.json").read_text())
    assert report["gate"]["passed"], [c for c in report["checks"] if c["status"] == "FAIL"]
    counts = [c for c in report["checks"] if c["check_id"].startswith(("bronze_vs_produced", "silver_vs_bronze"))]
    assert counts and all(c["status"] == "PASS" for c in counts), counts  # exact, a worker lost or not

    status = master_status(settings)
    assert found["restarted"] not in (None, found["worker"])
    assert [w["state"] for w in status["workers"]].count("DEAD") == 1  # the master saw the lost worker die
    assert len(alive_workers(status)) == 2  # ... and the restarted one join
    # every Spark job ran on the cluster (spark://), none locally: bronze_to_silver, train_trust_model,
    # silver_to_gold, audit_branch (publish_branch moves refs with pyiceberg, no Spark)
    assert len(status["completedapps"]) >= 4

    nightly_log = tmp_path / "nightly.log"
    code = run_logged([sys.executable, "-m", "airflow", "dags", "test", "kol_quality_nightly"], env, nightly_log)
    assert code == 0, nightly_log.read_text()[-5000:]

    printed = [*outputs, repr(settings), _cli(["airflow-env"], env), _cli(["status"], env)]
    assert_no_secret(settings.secret_values(), printed, [tmp_path, settings.state_dir])


def _cli(args: list[str], env: dict) -> str:
    result = subprocess.run([sys.executable, "-m", "lakehouse.cli", *args], env=env, capture_output=True,
                            text=True)
    return result.stdout + result.stderr


def assert_no_secret(secret_values: list[str], printed: list[str], directories: list[Path]) -> None:
    """No output and no file (logs, reports, Airflow task logs, the databases' files) holds a password."""
    assert len(secret_values) == 3  # catalog, Airflow DB, Redis (tansu 0.6 here has no SASL: README)
    for text in printed:
        leaked = [s for s in secret_values if s in text]
        assert not leaked, f"printed a secret: {text[:300]}"
    for directory in directories:
        for path in (p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secret_values), f"{path} holds a secret"
