"""Environment that points Airflow at this project (embedded default: SQLite metadata DB).

Used by `lakehouse demo`, the Makefile and the tests, so every way of running
Airflow sees the same DAGs folder, plugins, connections and lakehouse settings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from lakehouse.config import Settings
from lakehouse.core.names import LINEAGE_EVENTS_FILE


def venv_bin() -> str:
    return str(Path(sys.executable).parent)


def airflow_env(settings: Settings, base: dict | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    home = settings.airflow_home
    env.update(settings.to_env())
    env.setdefault("AIRFLOW_HOME", str(home))
    if settings.airflow_db_password:  # the URL with its password stays in the process env, never printed
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = settings.airflow_db_connect_uri()
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    else:
        env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", settings.airflow_db_sqlalchemy_uri)
    env.update({
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.plugins_dir),  # real Airflow plugins; the library is a package
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": env.get("AIRFLOW__CORE__UNIT_TEST_MODE", "False"),
        "PATH": venv_bin() + os.pathsep + env.get("PATH", ""),
    })
    for key, value in openlineage_env(settings).items():  # a deployment's own OpenLineage config wins
        env.setdefault(key, value)
    # Spark master for SparkSubmitOperator; a real cluster overrides this connection.
    env.setdefault(
        "AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": settings.spark_master})
    )
    return env


OPENLINEAGE_NAMESPACE = "kol-lakehouse"  # the namespace of the Airflow jobs in OpenLineage


def openlineage_env(settings: Settings) -> dict[str, str]:
    """The OpenLineage provider's config (:mod:`lakehouse.orchestration.lineage` fills the events).

    HTTP to Marquez (or any OpenLineage endpoint) when ``LAKEHOUSE_OPENLINEAGE_URL`` is set, else one event
    per line appended to ``<state dir>/lineage/openlineage.jsonl``. Events are sent from a thread of the
    task's process, not a forked child (the default): a task process may host a JVM gateway.
    """
    if settings.openlineage_url:
        transport = {"type": "http", "url": settings.openlineage_url, "endpoint": "api/v1/lineage"}
    else:
        settings.lineage_dir.mkdir(parents=True, exist_ok=True)  # the file transport does not create it
        transport = {"type": "file", "log_file_path": str(settings.lineage_dir / LINEAGE_EVENTS_FILE),
                     "append": True}
    return {"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": OPENLINEAGE_NAMESPACE,
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True"}


ADMIN_USER = "admin"
USERS_ENV = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"


def auth_users(configured: str | None = None) -> str:
    """SimpleAuthManager's ``user:role`` list: ``configured`` (Airflow's own setting, e.g.
    ``admin:admin,reviewer:user,viewer:viewer``) with the ``admin`` user the platform's scripts log in as
    added when it is missing. The role decides what a user may do: a ``viewer`` reads, a ``user`` or above
    also triggers runs and answers a review form."""
    users = [u.strip() for u in (configured or "").split(",") if u.strip()]
    if not any(u.split(":")[0] == ADMIN_USER for u in users):
        users.insert(0, f"{ADMIN_USER}:admin")
    return ",".join(users)


def service_env(port: int, host: str = "localhost", users: str | None = None) -> dict[str, str]:
    """What `airflow standalone` needs to serve on ``port``: the UI/API address the task runners call back
    (execution API) and links in alerts point at, and the users of Airflow's SimpleAuthManager
    (:func:`auth_users`), whose generated passwords Airflow keeps in
    ``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``."""
    base = f"http://{host}:{port}"
    return {
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        USERS_ENV: auth_users(users),
    }


def admin_password_file(env: dict[str, str]) -> Path:
    """Where SimpleAuthManager keeps the passwords it generated, for the Airflow environment ``env``."""
    return Path(env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
                or Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated")


def admin_password(env: dict[str, str], user: str = ADMIN_USER) -> str | None:
    """The password SimpleAuthManager generated for ``user`` (None until the API server first started)."""
    path = admin_password_file(env)
    return json.loads(path.read_text()).get(user) if path.is_file() else None


def ensure_pools(env: dict[str, str]) -> None:
    """Create (or resize) the lakehouse pool in the Airflow metadata DB ``env`` points at."""
    import subprocess

    from lakehouse.orchestration.dag_defaults import LAKE_POOL, LAKE_POOL_SLOTS

    result = subprocess.run([sys.executable, "-m", "airflow", "pools", "set", LAKE_POOL, str(LAKE_POOL_SLOTS),
                             "lakehouse tasks (1 slot each); maintenance takes all"],
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow pools set {LAKE_POOL} failed: {result.stderr[-2000:]}")
