"""A live Airflow as its users run it: `lakehouse serve` on free ports, driven through the REST API v2.

Shared by the live test modules; each starts its own (module fixture) on a fresh state dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
from conftest import alert_env, make_settings, slack_webhook, smtp_server

from lakehouse.config import Settings
from lakehouse.orchestration.airflow_env import ADMIN_USER, admin_password, airflow_env
from lakehouse.quality.report import report_path
from lakehouse.services.manager import free_port

POLL_SECONDS = 1  # one cheap API call; the file's wall time is on the suite's critical path
# every DAG file of the project (one DAG each, named after its file): parsed and listed before a test starts
OUR_DAGS = {p.stem for p in (Path(__file__).resolve().parents[1] / "dags").glob("kol_*.py")}
TERMINAL = {"success", "failed"}


class AirflowApi:
    """Airflow's REST API v2 with a token from the auth manager, as a user's script would call it."""

    def __init__(self, base_url: str, password: str, user: str = ADMIN_USER):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        response = self.http.post("/auth/token", json={"username": user, "password": password})
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, "/api/v2" + path, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict) -> str:
        run = self.call("POST", f"/dags/{dag_id}/dagRuns",
                        json={"logical_date": datetime.now(UTC).isoformat(), "conf": conf})
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": 50})["dag_runs"]

    def wait_for(self, dag_id: str, predicate, what: str, timeout: float = 600) -> dict:
        """The newest run of ``dag_id`` matching ``predicate`` once it reached a terminal state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [r for r in self.runs(dag_id) if predicate(r)]
            if matching and matching[0]["state"] in TERMINAL:
                return matching[0]
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"{dag_id}: no {what} run finished within {timeout}s: {self.runs(dag_id)[:3]}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        return self.wait_for(dag_id, lambda r: r["dag_run_id"] == run_id, run_id, timeout)

    def settle(self, dag_id: str, timeout: float = 600) -> list[dict]:
        """Every run of ``dag_id``, once none is queued or running."""
        deadline = time.monotonic() + timeout
        while (runs := self.runs(dag_id)) and any(r["state"] not in TERMINAL for r in runs):
            if time.monotonic() > deadline:
                raise AssertionError(f"{dag_id} runs did not settle within {timeout}s: {runs[:3]}")
            time.sleep(POLL_SECONDS)
        return runs

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        """``{task_id: task instance}`` with its state, start_date and end_date (ISO strings)."""
        tis = self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in tis}

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> object:
        """What ``task_id`` returned (its ``return_value`` XCom), deserialized."""
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/"
                         "xcomEntries/return_value", params={"deserialize": "true"})["value"]

    def wait_task(self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 600) -> dict:
        """The task instance once it reached one of ``states`` (a run that ended first fails the wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ti = self.task_instances(dag_id, run_id).get(task_id, {})
            if ti.get("state") in states:
                return ti
            run = self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
            if run["state"] in TERMINAL:
                raise AssertionError(f"{dag_id} {run_id} ended {run['state']} before {task_id} was {states}")
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"{dag_id} {run_id}: {task_id} not {states} within {timeout}s")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        log = self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/"
                        f"{try_number}", params={"full_content": "true"}, headers={"Accept": "application/json"})
        return "\n".join(json.dumps(line) for line in log["content"])


@dataclass
class Live:
    settings: Settings
    url: str
    api: AirflowApi
    password: str
    inbox: list  # mails
    slack: list  # webhook posts
    env: dict  # the Airflow environment serve runs (where its users' generated passwords are)

    def report(self, dag_id: str, run_id: str) -> dict:
        return json.loads(report_path(self.settings.reports_dir, dag_id, run_id).read_text())

    def password_of(self, user: str) -> str:
        """The password Airflow generated for ``user`` (one of ``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS``)."""
        password = admin_password(self.env, user)
        assert password, f"no user {user!r} in the live Airflow"
        return password


def _serve_env(settings: Settings, smtp_port: int, slack_env: dict) -> dict[str, str]:
    """A user's shell: none of this test session's Airflow or lakehouse settings, the live stack's instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LAKEHOUSE_"))}
    return {**env, **settings.to_env(), **alert_env(smtp_port), **slack_env,
            # the DAG files do not change during the test: parse them once, leave the 2 cores to the runs
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600"}


def _wait_ready(process: subprocess.Popen, url: str, env: dict, log: Path, timeout: float = 300) -> str:
    """The admin password once every component is healthy and our DAGs are parsed (``env``: the Airflow
    environment serve runs, so the password file is where it writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"lakehouse serve exited {process.returncode}:\n{log.read_text()[-4000:]}"
        try:
            health = httpx.get(f"{url}/api/v2/monitor/health", timeout=5).json()
            password = admin_password(env)
            if password and all(c.get("status") == "healthy" for c in health.values()):
                dags = AirflowApi(url, password).call("GET", "/dags", params={"dag_id_pattern": "kol_"})
                if {d["dag_id"] for d in dags["dags"]} == OUR_DAGS:
                    return password
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"Airflow not ready in {timeout}s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, as a service manager stops it (standalone stops its components, then serve its services);
    then whatever of what this test started is still running is terminated, by pid."""
    root = psutil.Process(process.pid)
    started = [root, *root.children(recursive=True)]
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=90)
    alive = [p for p in started if p.is_running()]
    for p in alive:
        p.terminate()
    _, still = psutil.wait_procs(alive, timeout=20)
    for p in still:
        p.kill()


@contextlib.contextmanager
def serving(root: Path, extra_env: dict[str, str] | None = None):
    """`lakehouse serve` on free ports under ``root`` (a fresh state dir), with an SMTP server and a Slack
    webhook catching its alerts; yields a :class:`Live`, and stops what it started."""
    settings = make_settings(root / "state")
    url = f"http://localhost:{free_port()}"
    with smtp_server() as (smtp_port, inbox), slack_webhook() as (slack_env, posts):
        env = {**_serve_env(settings, smtp_port, slack_env), **(extra_env or {})}
        log = root / "serve.log"
        with open(log, "w") as out:
            process = subprocess.Popen([str(Path(sys.executable).parent / "lakehouse"), "serve", "--port",
                                        url.rsplit(":", 1)[1]], env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            airflow = airflow_env(settings, base=env)
            password = _wait_ready(process, url, airflow, log)
            yield Live(settings, url, AirflowApi(url, password), password, inbox, posts, airflow)
        finally:
            _stop(process)
            print(f"live Airflow log: {log}")
