"""Produce synthetic data to a real broker and ingest it into real Bronze Iceberg tables."""

import json

import pytest

from lakehouse.core.names import KAFKA_NEXT_OFFSETS as SUMMARY_NEXT
from lakehouse.core.names import KAFKA_RANGES as SUMMARY_RANGES
from lakehouse.core.names import TOPICS, bronze_table_name
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.ingest.consumer import ingest_topic

pytestmark = pytest.mark.integration


def test_bronze_counts_equal_produced_and_offsets_are_recorded(settings, services, catalog):
    dataset = generate(DatasetSpec(profiles=800, bad_fraction=0.05, seed=3))
    produced = produce_records(dataset.all_records(), settings)
    assert produced == dataset.counts()
    for topic in TOPICS.values():
        result = ingest_topic(topic, settings, batch_size=700, run_id="r1", log=lambda *_: None)
        table = catalog.load_table(bronze_table_name(topic))
        rows = table.scan().to_arrow()
        assert rows.num_rows == produced[topic] == result.rows
        coords = set(zip(rows["kafka_partition"].to_pylist(), rows["kafka_offset"].to_pylist(), strict=True))
        assert len(coords) == rows.num_rows  # no (partition, offset) twice
        # raw bytes kept exactly, malformed JSON included
        sent = sorted(r.value for r in dataset.records[_entity(topic)])
        assert sorted(rows["payload"].to_pylist()) == sent
        summary = table.current_snapshot().summary.additional_properties
        ranges = json.loads(summary[SUMMARY_RANGES])
        assert summary["airflow.run_id"] == "r1" and ranges
        nxt = {int(p): o for p, o in json.loads(summary[SUMMARY_NEXT]).items()}
        assert sum(nxt.values()) == produced[topic]  # offsets start at 0: next offsets sum to the count


def test_rerun_appends_nothing_and_resumes_with_only_new_messages(settings, services, catalog):
    topic = TOPICS["profiles"]
    first = generate(DatasetSpec(profiles=300, seed=1)).records["profiles"]
    produce_records(first, settings)
    assert ingest_topic(topic, settings, log=lambda *_: None).rows == 300
    assert ingest_topic(topic, settings, log=lambda *_: None).rows == 0
    second = generate(DatasetSpec(profiles=120, seed=2)).records["profiles"]
    produce_records(second, settings)
    assert ingest_topic(topic, settings, log=lambda *_: None).rows == 120
    table = catalog.load_table(bronze_table_name(topic))
    assert table.scan().to_arrow().num_rows == 420
    assert len(table.snapshots()) == 2  # the empty re-run committed nothing


def _entity(topic):
    return next(name for name, t in TOPICS.items() if t == topic)
