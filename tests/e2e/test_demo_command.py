"""`lakehouse demo` as a user runs it (`make demo`): it starts the embedded services, runs kol_platform_e2e with
`airflow dags test`, prints the readiness report and stops what it started."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.datagen import DatasetSpec, generate
from lakehouse.services.manager import ServiceManager, port_open

pytestmark = pytest.mark.e2e


def test_demo_runs_the_readiness_dag_prints_its_report_and_stops_its_services(settings, airflow_db):
    lakehouse = str(Path(sys.executable).parent / "lakehouse")
    result = subprocess.run([lakehouse, "demo", "--profiles", "300", "--seed", "7"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    latest = settings.reports_dir / "kol_platform_e2e" / "latest.json"
    report = json.loads(latest.read_text())
    expected = generate(DatasetSpec(profiles=300, bad_fraction=0.02, seed=7)).counts()  # what the demo produces
    assert report["gate"]["passed"] and report["produced"] == expected
    assert f"report: {latest}" in result.stdout and "demo: DAG run succeeded" in result.stdout
    assert f"KOL Lakehouse readiness report  kol_platform_e2e  {report['run_id']}" in result.stdout
    # the services it started are stopped again: nothing owned, nothing listening on their ports
    assert not any(s.owned for s in ServiceManager(settings).status())
    assert not port_open(settings.kafka_host, settings.kafka_port)
    assert not port_open(settings.redis_host, settings.redis_port)
