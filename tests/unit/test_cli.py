import os
import subprocess
import sys

from lakehouse.config import Settings


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=True).stdout


def test_airflow_env_points_airflow_at_the_project_without_printing_secrets(tmp_path):
    out = _cli("airflow-env", env={"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_CATALOG_PASSWORD": "s3cr3t-pw"})
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert exports["AIRFLOW__CORE__DAGS_FOLDER"] == str(Settings.from_env().dags_dir)
    assert exports["LAKEHOUSE_STATE_DIR"] == str(tmp_path)
    assert "AIRFLOW_CONN_SPARK_DEFAULT" in exports
    assert "s3cr3t-pw" not in out


def test_airflow_env_hands_a_password_protected_metadata_db_to_airflow_by_command(tmp_path):
    """Airflow's DB URL holds a password: the printed exports carry ``_CMD`` instead, which Airflow runs."""
    env = {"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_AIRFLOW_DB_URI": "postgresql+psycopg2://af@db:5432/af",
           "LAKEHOUSE_AIRFLOW_DB_PASSWORD": "af-s3cr3t", "LAKEHOUSE_REDIS_PASSWORD": "rd-s3cr3t"}
    out = _cli("airflow-env", env=env)
    assert "s3cr3t" not in out
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in exports
    command = exports["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"].strip("'").split()
    url = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=True).stdout
    assert url.strip() == "postgresql+psycopg2://af:af-s3cr3t@db:5432/af"


def test_help_lists_every_command():
    import argparse

    from lakehouse.cli import build_parser

    [subcommands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    expected = {"setup", "setup-catalog", "up", "down", "status", "demo", "kcat", "suites", "report",
                "airflow-env", "redis", "doctor", "publish-branch", "quarantine", "erase"}
    assert expected <= set(subcommands.choices)
    listed = {line.split()[0] for line in _cli("--help").splitlines() if line.startswith("    ") and line.split()}
    assert expected <= listed, expected - listed  # each one a line of the help's command list


def test_quarantine_replay_refuses_an_unknown_reason_before_anything_starts(capsys):
    from lakehouse.cli import main

    assert main(["quarantine", "replay", "missing_field", "typo_reason"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("quarantine replay: replay_quarantine: reasons.1: 'typo_reason' is not one of")
    assert main(["quarantine", "replay", "missing_field", "--since", "last tuesday"]) == 2
    assert "since: 'last tuesday' does not match" in capsys.readouterr().out
