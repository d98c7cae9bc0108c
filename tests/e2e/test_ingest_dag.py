"""kol_ingest through real Airflow: mapped per-topic tasks, Params, asset events, retries."""

import os
import signal
import threading
from datetime import timedelta

import pytest

from lakehouse.core.names import TOPICS, bronze_table_name
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records

pytestmark = pytest.mark.e2e


@pytest.fixture
def ingest_dag(load_dag):
    return load_dag("kol_ingest")


def _asset_events(run):
    """``{asset name: extra}`` of the run's asset events; all of them from one task, emitted together."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra, AssetEvent.source_task_id)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run.run_id)
        ).all()
    assert {task_id for *_, task_id in rows} <= {"emit_bronze_events"}
    return {name: extra for name, extra, _ in rows}


def test_ingests_every_topic_and_emits_one_asset_event_per_bronze_table(settings, services, catalog, ingest_dag):
    dataset = generate(DatasetSpec(profiles=700, seed=31))
    produced = produce_records(dataset.all_records(), settings)
    run = ingest_dag.test()
    assert run.state == "success"
    mapped = [ti for ti in run.get_task_instances() if ti.task_id == "ingest_topic"]
    assert len(mapped) == len(TOPICS)
    events = _asset_events(run)
    assert set(events) == {bronze_table_name(t) for t in TOPICS.values()}
    for topic, count in produced.items():
        assert events[bronze_table_name(topic)]["rows"] == count
        assert catalog.load_table(bronze_table_name(topic)).scan().to_arrow().num_rows == count

    rerun = ingest_dag.test()  # nothing new: success, no rows, no asset events
    assert rerun.state == "success" and _asset_events(rerun) == {}


def test_params_select_topics_and_bound_records(settings, services, catalog, ingest_dag):
    produce_records(generate(DatasetSpec(profiles=500, seed=32)).all_records(), settings)
    run = ingest_dag.test(run_conf={"topics": [TOPICS["videos"]], "max_records": 100})
    assert run.state == "success"
    assert [ti.task_id for ti in run.get_task_instances() if ti.task_id == "ingest_topic"] == ["ingest_topic"]
    assert catalog.load_table(bronze_table_name(TOPICS["videos"])).scan().to_arrow().num_rows == 100
    assert bronze_table_name(TOPICS["profiles"]) not in {".".join(t) for t in catalog.list_tables("bronze")}


def test_unknown_topic_is_rejected_by_param_validation(ingest_dag):
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError):
        ingest_dag.test(run_conf={"topics": ["not-a-topic"]})


def test_hung_broker_fails_the_try_and_a_retry_succeeds(settings, services, catalog, ingest_dag, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_KAFKA_CONNECT_TIMEOUT", "3")
    records = generate(DatasetSpec(profiles=200, seed=33, videos_per_profile=0)).records["profiles"]
    produce_records(records, settings)
    broker = next(s.pid for s in services.status() if s.name == "broker")
    task = ingest_dag.get_task("ingest_topic")
    task.retries, task.retry_delay, task.retry_exponential_backoff = 5, timedelta(seconds=2), False
    retried = threading.Event()

    def resume_broker(context) -> None:  # the first try failed on the hang: let the retry reach the broker
        retried.set()
        os.kill(broker, signal.SIGCONT)

    task.on_retry_callback = [resume_broker]
    os.kill(broker, signal.SIGSTOP)  # hung, not refused: only a timeout can notice
    try:
        run = ingest_dag.test(run_conf={"topics": [TOPICS["profiles"]]})
    finally:
        os.kill(broker, signal.SIGCONT)
    assert retried.is_set(), "the hung broker did not fail the first try"
    assert run.state == "success"
    ti = next(ti for ti in run.get_task_instances() if ti.task_id == "ingest_topic")
    assert ti.try_number > 1, "the broker hang should have failed at least one try"
    assert catalog.load_table(bronze_table_name(TOPICS["profiles"])).scan().to_arrow().num_rows == len(records)
