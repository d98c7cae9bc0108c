"""Shared fixtures: isolated state dirs, real services on free ports, one Spark JVM per session.

Airflow is pointed at a per-session home with its own SQLite metadata DB
before anything imports it, so tests never touch the developer's `.state/`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

# py4j logs at interpreter exit, after pytest closed its capture streams.
logging.getLogger("py4j").setLevel(logging.WARNING)

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="kol-lakehouse-tests-"))

from lakehouse.config import Settings  # noqa: E402
from lakehouse.orchestration.airflow_env import airflow_env  # noqa: E402

# Endpoints and state come from each test's settings, never from the developer's shell.
_ISOLATED = ("LAKEHOUSE_STATE_DIR", "LAKEHOUSE_KAFKA_", "LAKEHOUSE_REDIS_", "LAKEHOUSE_CATALOG_",
             "LAKEHOUSE_WAREHOUSE", "LAKEHOUSE_S3_", "LAKEHOUSE_SPARK_MASTER", "AIRFLOW")


def pytest_configure(config) -> None:
    """Isolate the session before any test module imports Airflow: an Airflow home with its own SQLite metadata
    DB. A hook, not module code: the library's code it calls then fails a run (a mutant under ``make
    mutation``) as a session error, where an import-time error would read as a bad command line."""
    for key in [k for k in os.environ if k.startswith(_ISOLATED)]:
        del os.environ[key]
    os.environ.update({k: v for k, v in airflow_env(Settings(state_dir=_SESSION_ROOT)).items()
                       if not k.startswith("LAKEHOUSE_")})
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)


def make_settings(root: Path) -> Settings:
    from lakehouse.services.manager import free_port

    return Settings.from_env().replace(
        state_dir=root,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )


def use_settings(monkeypatch, settings: Settings) -> None:
    """Make ``settings`` what get_settings() returns in this process and its children."""
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Fresh state dir and free ports; not started, catalog not created."""
    s = make_settings(tmp_path / "state")
    s.ensure_dirs()
    use_settings(monkeypatch, s)
    return s


def _running_services(settings: Settings, only: tuple[str, ...] = ()):
    from lakehouse.services.manager import ServiceManager

    manager = ServiceManager(settings, die_with_parent=True)  # a killed test process leaves none behind
    manager.up(log=lambda *_: None, only=only)
    try:
        yield manager
    finally:
        manager.down(log=lambda *_: None)


@pytest.fixture
def services(settings):
    """A real tansu broker and redis-server for this test, stopped afterwards."""
    yield from _running_services(settings)


@pytest.fixture
def redis_service(settings):
    """Redis alone (what serves and locks needs no broker): started and stopped around the test."""
    yield from _running_services(settings, only=("redis",))


@pytest.fixture
def catalog(settings):
    from lakehouse.iceberg.catalog import get_catalog, init_catalog

    init_catalog(settings)
    return get_catalog(settings)


# ---- Spark: one JVM per test session, bound to one session catalog ---------------

@pytest.fixture(scope="session")
def spark_settings() -> Settings:
    from lakehouse.iceberg.catalog import init_catalog

    s = Settings.from_env().replace(state_dir=_SESSION_ROOT / "spark-lake")
    init_catalog(s)
    return s


@pytest.fixture(scope="session")
def spark_session(spark_settings):
    from lakehouse.spark.session import get_session

    spark = get_session("lakehouse-tests", spark_settings)
    yield spark
    spark.stop()


@pytest.fixture
def lake(spark_settings, spark_session, monkeypatch, tmp_path):
    """An empty lake (session Spark catalog, every table dropped) plus a broker/redis on free ports."""
    from lakehouse.iceberg.catalog import reset_lake

    reset_lake(spark_settings)
    s = spark_settings.replace(
        kafka_bootstrap=make_settings(tmp_path).kafka_bootstrap,
        redis_url=make_settings(tmp_path).redis_url,
    )
    use_settings(monkeypatch, s)
    return s


@pytest.fixture
def lake_services(lake):
    yield from _running_services(lake)


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the session's Airflow metadata DB once."""
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True,
                            env=os.environ.copy())
    assert result.returncode == 0, result.stderr[-3000:]
    from lakehouse.orchestration.airflow_env import ensure_pools

    ensure_pools(os.environ.copy())
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture
def load_dag(airflow_db):
    """Parse one file of dags/ with Airflow's DagBag and return its DAG (no import errors allowed)."""
    from airflow.dag_processing.dagbag import DagBag

    from lakehouse.config import get_settings

    def _load(dag_id: str):
        bag = DagBag(dag_folder=str(get_settings().dags_dir / f"{dag_id}.py"))
        assert not bag.import_errors, bag.import_errors
        return bag.get_dag(dag_id)

    return _load


@contextlib.contextmanager
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; yields its port and the list of messages it received."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from lakehouse.services.manager import free_port

    inbox = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            inbox.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


ALERTS_TO = "oncall@example.test"


def alert_env(smtp_port: int) -> dict[str, str]:
    """Airflow's ``smtp_default`` pointing at the test's SMTP server, and the alert recipient."""
    import json

    return {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({
                "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 1}}),
            "LAKEHOUSE_ALERT_EMAILS": ALERTS_TO}


@contextlib.contextmanager
def slack_webhook():
    """A local HTTP endpoint standing in for a Slack incoming webhook; yields the env that makes it
    Airflow's connection ``slack_alerts`` and the alert channel, and the JSON bodies it received."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"AIRFLOW_CONN_SLACK_ALERTS": json.dumps({
               "conn_type": "slackwebhook", "password": f"http://127.0.0.1:{server.server_port}/services/T0/B0/x"}),
           "LAKEHOUSE_ALERT_SLACK_CONN_ID": "slack_alerts"}
    try:
        yield env, received
    finally:
        server.shutdown()
        server.server_close()


def html_part(mail) -> str:
    return next(part.get_payload(decode=True).decode() for part in mail.walk()
                if part.get_content_type() == "text/html")


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture
def chromium_dom(tmp_path):
    """Open a local HTML file in headless Chromium (fresh profile, no network) and return the rendered DOM."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is installed by `make setup`"

    def _render(path: Path) -> str:
        profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
        result = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                                 path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    return _render


@pytest.fixture
def labeled_silver(lake, lake_services, spark_session):
    """``build(profiles, seed)``: synthetic KOLs through the broker into Bronze, their labels, Silver on main."""
    from lakehouse.core.names import TOPICS
    from lakehouse.datagen import DatasetSpec, generate
    from lakehouse.datagen.producer import produce_records
    from lakehouse.ingest.consumer import ingest_topic
    from lakehouse.jobs.transform import build_silver
    from lakehouse.ml.labels import write_labels

    def build(profiles: int, seed: int):
        dataset = generate(DatasetSpec(profiles=profiles, seed=seed))
        produce_records(dataset.all_records(), lake)
        for topic in TOPICS.values():
            ingest_topic(topic, lake, log=lambda *_: None)
        write_labels(lake, dataset.labels)
        build_silver(spark_session, run_id="built")
        return dataset

    return build


# The files that take longest on CI's 2 cores, longest first. `make test` runs a file at a time on each of its
# two workers, in collection order (`--no-loadscope-reorder`): starting the long files first (and the many
# short ones last) lets both workers finish together instead of one running a long file alone at the end.
LONGEST_FIRST = (
    "e2e/test_airflow_live.py", "e2e/test_cluster_profile.py", "e2e/test_first_run_live.py", "integration/test_wap.py",
    "integration/test_erasure.py",
    "integration/test_quality_checks.py", "integration/test_scores.py", "integration/test_maintenance.py",
    "e2e/test_transform_dag.py", "e2e/test_demo_command.py", "e2e/test_model_training_dag.py",
    "integration/test_trust_model.py",
)


def pytest_collection_modifyitems(items: list) -> None:
    """Reorder by :data:`LONGEST_FIRST` (a stable sort: tests keep their order within a file)."""
    def rank(item) -> int:
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith(f"tests/{name}")),
                    len(LONGEST_FIRST))

    items.sort(key=rank)


def lineage_events(dag_id: str, run_id: str, transport: dict | None = None) -> list[dict]:
    """The OpenLineage events of one DAG run's tasks, from the file transport (``transport``: its config;
    default: this test session's Airflow)."""
    import json

    transport = transport or json.loads(os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    path = Path(transport["log_file_path"])
    events = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    return [e for e in events if e["job"]["name"].startswith(f"{dag_id}.")
            and e["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id]



TIMELINE = Path(__file__).resolve().parents[1] / ".state" / "test-timeline.jsonl"


def pytest_sessionstart(session) -> None:
    """A new timeline per run (the controller starts it; workers append)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        TIMELINE.unlink(missing_ok=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Where the suite's time goes across the workers: one line per test (worker, start, seconds) in
    ``.state/test-timeline.jsonl`` of the checkout, to balance :data:`LONGEST_FIRST` with."""
    import json
    import time

    started = time.time()
    yield
    line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid,
            "start": round(started, 1), "seconds": round(time.time() - started, 1)}
    TIMELINE.parent.mkdir(exist_ok=True)
    with open(TIMELINE, "a") as out:
        out.write(json.dumps(line) + "\n")


def kill_at_phase(job: subprocess.Popen, marker: str, timeout: float = 180) -> None:
    """SIGKILL the job's process group as soon as it announces ``marker`` (a submitted job prints each phase as
    it starts; spark-submit passes the driver's stderr on as its output); fails if the job ends or the
    deadline passes first."""
    from lakehouse.spark.phases import PHASE_MARKER

    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in job.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (line := lines.get(timeout=max(deadline - time.monotonic(), 0.1))) is not None:
        if line.rstrip().endswith(f"{PHASE_MARKER}{marker}"):  # after Spark's progress bar, if it drew one
            os.killpg(job.pid, signal.SIGKILL)
            return
        assert time.monotonic() < deadline, f"no {marker!r} phase within {timeout}s"
    raise AssertionError(f"the job ended (rc {job.wait()}) before its {marker!r} phase")
