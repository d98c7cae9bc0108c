"""Every DAG file imports cleanly and carries what operators of the platform rely on."""

import subprocess
import sys

import pytest

from lakehouse.config import Settings

DAGS_FOLDER = Settings.from_env().dags_dir

DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_there_are_dags():
    assert DAG_FILES, "dags/ is empty"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= len(DAG_FILES)


def test_every_dag_is_documented_owned_tagged_and_retried(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md.strip()) > 40, f"{dag_id}: doc_md missing"
        assert dag.tags, f"{dag_id}: no tags"
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id}: no owner"
            assert t.retries is not None, f"{dag_id}.{t.task_id}: retries unset"
            assert t.execution_timeout is not None, f"{dag_id}.{t.task_id}: no execution_timeout"
        assert any(t.retries > 0 for t in dag.tasks), f"{dag_id}: nothing retries"
        assert dag.dagrun_timeout is not None, f"{dag_id}: no dagrun_timeout"


def test_maintenance_and_erasure_never_run_beside_a_lakehouse_task(dagbag):
    """Every task takes one slot of the lake pool; maintain_lake and erase_subjects take all of them (a
    reader-writer lock). The lease tasks run in Airflow's default pool."""
    from lakehouse.orchestration.dag_defaults import LAKE_POOL, LAKE_POOL_SLOTS
    from lakehouse.orchestration.taskflow import LEASE_POOL

    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:  # waiting for the lease takes no lake slot (else: a deadlock with maintenance)
            pool = LEASE_POOL if t.task_id in ("acquire_wap_lease", "release_wap_lease") else LAKE_POOL
            assert t.pool == pool, f"{dag_id}.{t.task_id}: pool {t.pool}"
            expected = LAKE_POOL_SLOTS if t.task_id in ("maintain_lake", "erase_subjects") else 1
            assert t.pool_slots == expected, f"{dag_id}.{t.task_id}: {t.pool_slots} slot(s)"
    assert {"kol_lake_maintenance", "kol_erasure"} <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id,task_id", [("kol_lake_maintenance", "maintain_lake"),
                                            ("kol_erasure", "erase_subjects")])
def test_maintenance_and_erasure_hold_the_lease_a_waiting_review_keeps(dagbag, dag_id, task_id):
    """A WAP chain parked on a review holds no pool slot (Airflow frees it while a task awaits input), so the
    pool alone would let maintenance move ``main`` under the audited branch: the lease keeps it out."""
    dag = dagbag.dags[dag_id]
    acquire, release = dag.get_task("acquire_wap_lease"), dag.get_task("release_wap_lease")
    assert acquire.is_setup and release.is_teardown
    assert task_id in acquire.downstream_task_ids and task_id in release.upstream_task_ids


@pytest.mark.parametrize("dag_id", ["kol_transform", "kol_platform_e2e"])
def test_every_wap_chain_holds_the_lease_from_first_write_to_redis_publish(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    acquire, release = dag.get_task("acquire_wap_lease"), dag.get_task("release_wap_lease")
    assert acquire.is_setup and release.is_teardown
    assert "bronze_to_silver" in acquire.downstream_task_ids
    assert "publish_redis" in release.upstream_task_ids
    review = dag.get_task("review_warns")  # the review waits between the audit and the publish, under the lease
    assert review.upstream_task_ids == {"audit_branch"} and review.downstream_task_ids == {"publish_branch"}
    assert review.retries == 0  # a retry would ask again


def test_every_gate_alerts_once_per_run_and_the_nightly_has_a_deadline_when_alerts_are_on(dagbag, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DeadlineReference

    from lakehouse.orchestration.notify import QualityGateNotifier

    gates = [dag.get_task("quality_gate") for dag in dagbag.dags.values() if "quality_gate" in dag.task_ids]
    builders = ("quality_gate_task(", "published_wap_chain(")  # the gate, alone or with a whole WAP chain
    wired = {p.stem for p in DAG_FILES if any(b in p.read_text() for b in builders)}  # the DAG files that build one
    assert wired and {g.dag_id for g in gates} == wired
    for gate in gates:  # one task per run, never retried: one mail per failed run
        assert gate.retries == 0
        assert [type(cb) for cb in gate.on_failure_callback] == [QualityGateNotifier]
    assert not dagbag.dags["kol_quality_nightly"].deadline  # no recipients configured: no alert
    monkeypatch.setenv("LAKEHOUSE_ALERT_EMAILS", "oncall@example.test")
    monkeypatch.setenv("LAKEHOUSE_NIGHTLY_DEADLINE_MINUTES", "90")
    monkeypatch.setenv("LAKEHOUSE_ALERT_SLACK_CONN_ID", "slack_alerts")
    nightly = DagBag(dag_folder=str(DAGS_FOLDER / "kol_quality_nightly.py")).dags["kol_quality_nightly"]
    mail, slack = nightly.deadline  # one Deadline Alert per configured channel
    for alert in (mail, slack):
        # from the queue time: the catch-up run of a DAG unpaused at noon is not late before it exists
        assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
        assert alert.interval.total_seconds() == 90 * 60
    assert mail.callback.path.endswith("SmtpNotifier") and mail.callback.kwargs["to"] == ["oncall@example.test"]
    assert slack.callback.path.endswith("SlackWebhookNotifier")
    assert slack.callback.kwargs["slack_webhook_conn_id"] == "slack_alerts"


def test_no_cycles(dagbag):
    for dag_id, dag in dagbag.dags.items():
        order = dag.topological_sort()
        assert len(order) == len(dag.tasks), f"{dag_id}: cycle"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_has_no_heavy_top_level_imports(path):
    """Parsing a DAG must not start Spark, pyiceberg, Kafka or GX (the scheduler parses often)."""
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('pyspark', 'pyiceberg', 'confluent_kafka', 'great_expectations', 'redis')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{path.name} imports {out.stdout.strip()} at parse time"


def test_the_nightly_judges_nothing_before_the_lake_first_published(dagbag):
    """Its first task short-circuits the whole run (report and gate too) on a lake that never published."""
    nightly = dagbag.dags["kol_quality_nightly"]
    first = nightly.get_task("lake_published")
    assert not first.upstream_task_ids and first.ignore_downstream_trigger_rules
    assert first.get_flat_relative_ids(upstream=False) == set(nightly.task_ids) - {"lake_published"}
