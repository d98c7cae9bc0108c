import os
import subprocess
import sys

from lakehouse.orchestration.airflow_env import DAGS_FOLDER


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=True).stdout


def test_airflow_env_points_airflow_at_the_project_without_printing_secrets(tmp_path):
    out = _cli("airflow-env", env={"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_CATALOG_PASSWORD": "s3cr3t-pw"})
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert exports["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER)
    assert exports["LAKEHOUSE_STATE_DIR"] == str(tmp_path)
    assert "AIRFLOW_CONN_SPARK_DEFAULT" in exports
    assert "s3cr3t-pw" not in out


def test_help_lists_every_command():
    out = _cli("--help")
    for command in ("setup", "setup-catalog", "up", "down", "status", "demo", "kcat", "suites", "report",
                    "airflow-env", "redis"):
        assert command in out
