"""The cluster profile's services on one machine, without Docker: PostgreSQL from Debian (the Iceberg JDBC
catalog and Airflow's metadata DB) and a Spark standalone cluster from the pinned pyspark (a master and
``cluster_workers`` workers, each its own JVM).

The platform code does not know it runs here rather than on real hosts: it only sees a ``postgresql://``
catalog, a ``spark://`` master and credentials from the environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from lakehouse.config import Settings, spark_home
from lakehouse.services.manager import ServiceError, ServiceSpec, free_port, write_private

POSTGRES_OS_USER = "postgres"  # PostgreSQL refuses to run as root: as root we start it as this user


# ---- PostgreSQL ---------------------------------------------------------------------

def postgres_bin(program: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise ServiceError(f"PostgreSQL's {program} not found: run `make setup` (installs Debian's postgresql)")
    return str(found[-1])


def postgres_dir(settings: Settings) -> Path:
    return settings.state_dir / "postgres"


def _os_user() -> str | None:
    return POSTGRES_OS_USER if os.geteuid() == 0 else None


def _chown_to_postgres(path: Path) -> None:
    if _os_user():
        shutil.chown(path, POSTGRES_OS_USER, POSTGRES_OS_USER)


def _initdb(settings: Settings) -> None:
    """A new database cluster whose superuser is the catalog user, password-authenticated (scram-sha-256)."""
    root, data = postgres_dir(settings), postgres_dir(settings) / "data"
    if (data / "PG_VERSION").exists():
        return
    for d in (root, data, root / "run"):
        d.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(d)
    pwfile = root / "initdb.pw"
    write_private(pwfile, settings.catalog_password + "\n")
    _chown_to_postgres(pwfile)
    try:
        result = subprocess.run(
            [postgres_bin("initdb"), "-D", str(data), "-U", settings.catalog_user, f"--pwfile={pwfile}",
             "-A", "scram-sha-256", "-E", "UTF8", "--locale=C"],
            capture_output=True, text=True, user=_os_user())
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ServiceError(f"initdb failed (the {_os_user() or 'current'} user must reach {data}):\n"
                           f"{result.stderr[-1500:]}")


def _connect(settings: Settings, database: str = "postgres"):
    import psycopg2

    parts = urlsplit(settings.catalog_sqlalchemy_uri)
    return psycopg2.connect(host=parts.hostname, port=parts.port, dbname=database, user=settings.catalog_user,
                            password=settings.catalog_password, connect_timeout=3)


def _postgres_answers(settings: Settings) -> bool:
    with _connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchone() == (1,)


def _create_databases(settings: Settings) -> None:
    """The catalog database (owned by the catalog user) and Airflow's (its own role and password)."""
    from psycopg2 import sql

    catalog_db = urlsplit(settings.catalog_sqlalchemy_uri).path.lstrip("/")
    airflow = urlsplit(settings.airflow_db_uri) if settings.airflow_db_uri.startswith("postgres") else None
    conn = _connect(settings)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if airflow is not None:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (airflow.username,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(airflow.username)),
                            (settings.airflow_db_password,))
            wanted = [(catalog_db, settings.catalog_user)]
            if airflow is not None:
                wanted.append((airflow.path.lstrip("/"), airflow.username))
            for database, owner in wanted:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if not cur.fetchone():
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(owner)))
    finally:
        conn.close()


def postgres_spec(settings: Settings) -> ServiceSpec:
    if not (settings.catalog_sqlalchemy_uri.startswith("postgresql") and settings.catalog_password):
        raise ServiceError("the cluster profile needs LAKEHOUSE_CATALOG_URI=postgresql+psycopg2://USER@HOST:PORT/DB "
                           "and LAKEHOUSE_CATALOG_PASSWORD")
    parts = urlsplit(settings.catalog_sqlalchemy_uri)
    root = postgres_dir(settings)
    argv = (postgres_bin("postgres"), "-D", str(root / "data"), "-p", str(parts.port), "-k", str(root / "run"),
            "-c", f"listen_addresses={parts.hostname}", "-c", "max_connections=200")
    return ServiceSpec("postgres", parts.hostname, parts.port, argv, lambda: _postgres_answers(settings),
                       prepare=lambda: _initdb(settings), after_start=lambda: _create_databases(settings),
                       user=_os_user(), stop_signal=signal.SIGINT)


# ---- Spark standalone -----------------------------------------------------------------

WORKER_CLEANUP = ("-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.interval=3600 "
                  "-Dspark.worker.cleanup.appDataTtl=604800")  # finished apps' work dirs: kept 7 days


def master_status(settings: Settings, timeout: float = 2.0) -> dict:
    """The master's own JSON view (``/json/``): status, workers and their state, running applications."""
    with urllib.request.urlopen(settings.spark_master_ui_url.rstrip("/") + "/json/", timeout=timeout) as r:
        return json.loads(r.read())


def alive_workers(status: dict) -> list[dict]:
    return [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]


def spark_specs(settings: Settings) -> list[ServiceSpec]:
    master = urlsplit(settings.spark_master)
    ui = urlsplit(settings.spark_master_ui_url)
    if master.scheme != "spark" or not ui.port:
        raise ServiceError("the cluster profile needs LAKEHOUSE_SPARK_MASTER=spark://HOST:PORT and "
                           "LAKEHOUSE_SPARK_MASTER_UI_URL=http://HOST:PORT")
    spark_class = str(spark_home() / "bin" / "spark-class")
    env = {"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": master.hostname}
    specs = [ServiceSpec(
        "spark-master", master.hostname, master.port,
        (spark_class, "org.apache.spark.deploy.master.Master", "--host", master.hostname,
         "--port", str(master.port), "--webui-port", str(ui.port)),
        lambda: master_status(settings).get("status") == "ALIVE", env=env)]
    for i in range(1, settings.cluster_workers + 1):
        work_dir = settings.state_dir / "spark" / f"worker-{i}"
        specs.append(ServiceSpec(
            f"spark-worker-{i}", master.hostname, master.port,
            (spark_class, "org.apache.spark.deploy.worker.Worker", "--host", master.hostname, "--cores", "1",
             "--memory", settings.spark_worker_memory, "--work-dir", str(work_dir),
             "--webui-port", str(free_port()), settings.spark_master),
            lambda i=i: len(alive_workers(master_status(settings))) >= i,
            prepare=lambda d=work_dir: d.mkdir(parents=True, exist_ok=True),
            env={**env, "SPARK_WORKER_OPTS": WORKER_CLEANUP}, check_port=False))
    return specs


def worker_executors(worker_pid: int) -> list[int]:
    """Pids of the executor JVMs a worker launched (its children running CoarseGrainedExecutorBackend)."""
    import psutil

    try:
        children = psutil.Process(worker_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c.pid for c in children if "CoarseGrainedExecutorBackend" in " ".join(_cmdline(c))]


def _cmdline(process) -> list[str]:
    """A process's command line; empty once it has exited (an executor that finished is a zombie until reaped)."""
    import psutil

    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
        return []


def cluster_profile(base: Settings, *, catalog_password: str, airflow_db_password: str, redis_password: str,
                    workers: int = 2, host: str = "127.0.0.1") -> Settings:
    """``base`` turned into the cluster profile on free ports of this machine: PostgreSQL catalog and Airflow
    DB, a Spark master with ``workers`` workers, a password-protected Redis with an ACL user."""
    pg, master, ui = free_port(host), free_port(host), free_port(host)
    return base.replace(
        cluster_workers=workers,
        catalog_uri=f"postgresql+psycopg2://lake@{host}:{pg}/iceberg", catalog_user="lake",
        catalog_password=catalog_password,
        airflow_db_uri=f"postgresql+psycopg2://airflow@{host}:{pg}/airflow", airflow_db_password=airflow_db_password,
        spark_master=f"spark://{host}:{master}", spark_master_ui_url=f"http://{host}:{ui}",
        redis_username="lakehouse", redis_password=redis_password)
