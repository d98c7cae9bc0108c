"""The `lakehouse` subcommands a user runs, each as the installed command in a child process: its exit code
and the one thing it must do (services up and down, a catalog created, a report printed, a branch published)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pyarrow as pa
import pytest

from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.names import NAMESPACES

pytestmark = pytest.mark.integration

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def _run(*args: str) -> subprocess.CompletedProcess:
    """The command with the test's settings (its env: state dir, ports), as a user's shell would run it."""
    return subprocess.run([str(LAKEHOUSE), *args], capture_output=True, text=True, env=dict(os.environ),
                          timeout=300)


def test_up_starts_the_services_status_sees_them_and_down_stops_what_up_started(settings):
    from lakehouse.services.manager import ServiceManager

    try:
        up = _run("up")
        assert up.returncode == 0, up.stderr
        running = {s.name: s for s in ServiceManager(settings).status()}
        assert running["broker"].running and running["redis"].running, running
        pids = [s.pid for s in running.values() if s.pid]
        status = _run("status")
        assert status.returncode == 0 and all(f"pid {pid}" in status.stdout for pid in pids), status.stdout
        down = _run("down")
        assert down.returncode == 0, down.stderr
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                       for pid in pids)
        assert not any(s.running for s in ServiceManager(settings).status())
    finally:
        ServiceManager(settings).down(log=lambda *_: None)


def test_setup_catalog_creates_every_namespace_and_is_safe_to_rerun(settings):
    from lakehouse.iceberg.catalog import get_catalog

    for _ in range(2):
        done = _run("setup-catalog")
        assert done.returncode == 0 and "catalog: ready" in done.stdout, done.stderr
    assert {ns[0] for ns in get_catalog(settings).list_namespaces()} >= set(NAMESPACES)


def test_report_prints_the_latest_report_of_the_dag_asked_for(settings):
    from lakehouse.quality.report import build_report, write_report

    assert _run("report", "--dag-id", "kol_transform").returncode == 1  # none yet: says so, exit 1
    checks = [CheckResult("accounting.profiles", "silver", "silver.kol_profiles", Status.FAIL, 3, "== 0")]
    write_report(build_report(dag_id="kol_transform", run_id="r-7", counts={}, timings={}, checks=checks),
                 settings.reports_dir)
    shown = _run("report", "--dag-id", "kol_transform")
    assert shown.returncode == 0 and "r-7" in shown.stdout and "accounting.profiles" in shown.stdout, shown.stdout


def test_publish_branch_fast_forwards_main_to_the_branch_and_drops_it(settings, catalog):
    from lakehouse.etl import wap

    table = catalog.create_table("silver.kol_profiles", pa.schema([("id", pa.int32())]))
    table.append(pa.Table.from_pylist([{"id": 0}], schema=table.schema().as_arrow()))
    with table.manage_snapshots() as refs:
        refs.create_branch(table.current_snapshot().snapshot_id, "audit_cli")
    table.append(pa.Table.from_pylist([{"id": 1}], schema=table.schema().as_arrow()), branch="audit_cli")
    head = wap.refs("silver.kol_profiles")["audit_cli"]
    published = _run("publish-branch", "audit_cli")
    assert published.returncode == 0, published.stderr + published.stdout
    assert wap.refs("silver.kol_profiles") == {"main": head}


def test_suites_suggest_writes_a_draft_the_linter_accepts_and_leaves_an_existing_file_alone(settings, catalog,
                                                                                           tmp_path):
    table = catalog.create_table("gold.kol_cli_board", pa.schema([("kol_id", pa.string()), ("rank", pa.int64())]))
    table.append(pa.Table.from_pylist([{"kol_id": f"k{i}", "rank": i} for i in range(50)],
                                      schema=table.schema().as_arrow()))
    drafts = tmp_path / "expectations"
    made = _run("suites", "suggest", "gold.kol_cli_board", "--key", "kol_id", "--dir", str(drafts))
    assert made.returncode == 0, made.stderr[-2000:] + made.stdout
    draft = drafts / "gold" / "kol_cli_board.json"
    types = {e["type"] for e in json.loads(draft.read_text())["expectations"]}
    assert {"expect_column_values_to_not_be_null", "expect_column_values_to_be_between"} <= types, types
    assert _run("suites", "lint", "--dir", str(drafts)).returncode == 0
    again = _run("suites", "suggest", "gold.kol_cli_board", "--dir", str(drafts))
    assert again.returncode == 1 and "left as it is" in again.stdout


def test_erase_blanks_the_subjects_records_proves_it_and_refuses_a_bad_request(settings, services, catalog):
    from lakehouse.core.names import TOPICS
    from lakehouse.datagen import DatasetSpec, generate
    from lakehouse.datagen.producer import produce_records
    from lakehouse.ingest.consumer import ingest_topic

    dataset = generate(DatasetSpec(profiles=12, seed=5, videos_per_profile=0))
    produce_records(dataset.records["profiles"], settings)
    ingest_topic(TOPICS["profiles"], settings, log=lambda *_: None)  # Bronze only: nothing downstream yet
    kol = json.loads(next(r.value for r in dataset.records["profiles"] if r.fault is None))

    bad = _run("erase", "tiktok:a", "tiktok:a", "--request-id", "REQ-1", "--reason", "GDPR Art. 17")
    assert bad.returncode == 2 and bad.stdout.strip() == "erase: subject(s) given twice: tiktok:a"
    done = _run("erase", f"{kol['platform']}:{kol['kol_id']}", "--request-id", "REQ-1", "--reason", "GDPR Art. 17")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASSED" in done.stdout and kol["kol_id"] not in done.stdout
    report = json.loads((settings.reports_dir / "kol_erasure" / "cli__REQ-1.json").read_text())
    assert report["gate"]["passed"] and any(c["check_id"] == "erasure.redis" for c in report["checks"])
    bronze = catalog.load_table("bronze.kol_profiles_raw").scan().to_arrow().to_pylist()
    erased = [r for r in bronze if r["erased_by"] == "REQ-1"]
    assert erased and all(r["payload"] is None and r["kafka_key"] is None for r in erased)
    assert len(bronze) == len(dataset.records["profiles"])  # every offset still there
