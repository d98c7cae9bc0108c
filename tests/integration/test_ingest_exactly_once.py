"""Kafka -> Bronze exactly-once behaviour against a real tansu broker and real Iceberg tables."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from lakehouse import kafka
from lakehouse.core.errors import ReconciliationError, SourceChangedError
from lakehouse.core.names import KAFKA_NEXT_OFFSETS as SUMMARY_NEXT
from lakehouse.core.names import KAFKA_RANGES as SUMMARY_RANGES
from lakehouse.core.names import TOPICS, bronze_table_name
from lakehouse.datagen import DatasetSpec, Record, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.ingest.writer import IngestError
from lakehouse.quality.reconcile import reconcile

pytestmark = pytest.mark.integration
PROFILES = TOPICS["profiles"]
quiet = {"log": lambda *_: None}


def _bronze(catalog, topic):
    return catalog.load_table(bronze_table_name(topic))


def _coords(table):
    rows = table.scan(selected_fields=("kafka_partition", "kafka_offset")).to_arrow()
    return list(zip(rows["kafka_partition"].to_pylist(), rows["kafka_offset"].to_pylist(), strict=True))


def _produce_profiles(settings, n, seed=1):
    records = generate(DatasetSpec(profiles=n, seed=seed, videos_per_profile=0)).records["profiles"]
    produce_records(records, settings)
    return records


def test_three_topics_in_parallel_land_exactly(settings, services, catalog):
    dataset = generate(DatasetSpec(profiles=1500, bad_fraction=0.02, seed=21))
    produced = produce_records(dataset.all_records(), settings)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda t: ingest_topic(t, settings, batch_size=1000, **quiet), TOPICS.values()))
    for topic, result in zip(TOPICS.values(), results, strict=True):
        table = _bronze(catalog, topic)
        coords = _coords(table)
        assert len(coords) == len(set(coords)) == produced[topic] == result.rows
        assert sum(r["rows"] for r in reconcile(table, topic).values()) == produced[topic]


def test_killed_mid_run_then_rerun_gives_exactly_the_produced_set(settings, services, catalog):
    records = _produce_profiles(settings, 6000)
    script = (
        "from lakehouse.config import get_settings; from lakehouse.ingest.consumer import ingest_topic;"
        f"ingest_topic({PROFILES!r}, get_settings(), batch_size=50, log=lambda *a: None)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        table = None
        while time.monotonic() < deadline:
            try:
                table = _bronze(catalog, PROFILES)
                if table.current_snapshot() is not None and len(table.snapshots()) >= 3:
                    break
            except Exception:
                pass
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)  # between (or in the middle of) commits
    finally:
        child.wait()
    partial = len(_coords(_bronze(catalog, PROFILES)))
    assert 0 < partial < len(records), "the child was not killed mid-run"

    result = ingest_topic(PROFILES, settings, **quiet)
    coords = _coords(_bronze(catalog, PROFILES))
    assert result.rows == len(records) - partial
    assert len(coords) == len(set(coords)) == len(records)
    reconcile(_bronze(catalog, PROFILES), PROFILES)


class _RedeliveringConsumer:
    """A real consumer whose every batch arrives twice (at-least-once delivery)."""

    def __init__(self, inner):
        self._inner = inner

    def consume(self, num_messages, timeout):
        batch = self._inner.consume(num_messages, timeout)
        return batch + [m for m in batch if m.error() is None]

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_duplicate_delivery_and_reruns_never_duplicate(settings, services, catalog, monkeypatch):
    records = _produce_profiles(settings, 900)
    real_consumer = kafka.consumer
    monkeypatch.setattr(kafka, "consumer", lambda *a, **k: _RedeliveringConsumer(real_consumer(*a, **k)))
    result = ingest_topic(PROFILES, settings, batch_size=200, **quiet)
    assert result.rows == len(records)
    assert 0 < result.redelivered <= len(records)  # copies after a partition EOF are not even looked at
    monkeypatch.setattr(kafka, "consumer", real_consumer)
    for _ in range(2):  # the same DAG run retried, twice
        assert ingest_topic(PROFILES, settings, **quiet).rows == 0
    coords = _coords(_bronze(catalog, PROFILES))
    assert len(coords) == len(set(coords)) == len(records)


def test_malformed_huge_empty_binary_and_hostile_payloads_land_byte_exact(settings, services, catalog):
    payloads = [
        b'{"kol_id": "x", "platform": "tiktok"',  # truncated JSON
        os.urandom(1024 * 1024),  # 1 MiB of random bytes
        b"",  # empty
        b"\xff\xfe\x00\x80 not utf-8 \xc3\x28",
        "'; DROP TABLE bronze.kol_profiles_raw; -- <script>alert(1)</script> \u202e\U0001f525".encode(),
        b"\x00" * 64,
        None,  # tombstone
    ]
    records = [Record(PROFILES, f"k{i}".encode() if i % 2 else os.urandom(300), p) for i, p in enumerate(payloads)]
    produce_records(records, settings)
    ingest_topic(PROFILES, settings, **quiet)
    rows = _bronze(catalog, PROFILES).scan().to_arrow().to_pylist()
    assert sorted((r["kafka_key"], r["payload"]) for r in rows) == sorted(
        ((r.key, r.value) for r in records), key=lambda kv: (kv[0], kv[1] or b""))


@pytest.mark.timeout(180)  # a hang fails the test (its speed is not asserted: that is for benchmarks)
def test_broker_down_fails_fast_commits_nothing_then_succeeds(settings, services, catalog):
    broker_pid = next(s.pid for s in services.status() if s.name == "broker")
    services.stop_pid(broker_pid)
    with pytest.raises(IngestError, match="unreachable"):
        ingest_topic(PROFILES, settings, connect_timeout=3, **quiet)
    assert _bronze(catalog, PROFILES).current_snapshot() is None  # nothing half-committed

    services.up(log=lambda *_: None)
    records = _produce_profiles(settings, 200)
    assert ingest_topic(PROFILES, settings, **quiet).rows == len(records)


def test_broker_reset_behind_the_table_is_an_error_not_a_silent_skip(settings, services, catalog):
    _produce_profiles(settings, 300)
    ingest_topic(PROFILES, settings, **quiet)
    services.down(log=lambda *_: None)
    services.up(log=lambda *_: None)  # in-memory broker: the log starts again at offset 0
    _produce_profiles(settings, 30, seed=9)
    with pytest.raises(SourceChangedError, match="broker log changed"):  # a new topic id: a new log
        ingest_topic(PROFILES, settings, connect_timeout=5, **quiet)
    assert len(_coords(_bronze(catalog, PROFILES))) == 300


def test_external_producer_kcat_is_picked_up(settings, services, catalog):
    lines = "".join(f"kcat-{i}|{json.dumps({'kol_id': f'k{i}', 'platform': 'youtube'})}\n" for i in range(50))
    subprocess.run([sys.executable, "-m", "lakehouse.cli", "kcat", "-P", "-t", PROFILES, "-K", "|"],
                   input=lines.encode(), check=True, timeout=60, env=os.environ.copy())
    result = ingest_topic(PROFILES, settings, **quiet)
    rows = _bronze(catalog, PROFILES).scan().to_arrow().to_pylist()
    assert result.rows == 50
    assert sorted(r["kafka_key"] for r in rows) == sorted(f"kcat-{i}".encode() for i in range(50))
    assert all(json.loads(r["payload"])["platform"] == "youtube" for r in rows)


def test_reconciliation_names_the_partition_and_offsets_of_a_gap(settings, services, catalog):
    _produce_profiles(settings, 300)
    ingest_topic(PROFILES, settings, **quiet)
    table = _bronze(catalog, PROFILES)
    assert set(reconcile(table, PROFILES)) == {0, 1, 2}
    nxt = json.loads(table.current_snapshot().summary.additional_properties[SUMMARY_NEXT])
    # A writer that skipped offsets: records partition 0 resuming 5 past where the table ended.
    start = nxt["0"] + 5
    fake = table.scan(limit=1).to_arrow().to_pylist()[0]
    fake.update(kafka_partition=0, kafka_offset=start)
    table.append(pa.Table.from_pylist([fake], schema=table.scan(limit=1).to_arrow().schema),
                 snapshot_properties={SUMMARY_RANGES: json.dumps({"0": [start, start]}),
                                      SUMMARY_NEXT: json.dumps({**nxt, "0": start + 1})})
    with pytest.raises(ReconciliationError, match=rf"kol-profiles-raw\[0\]: .*gap.*{nxt['0'] - 1} then {start}"):
        reconcile(_bronze(catalog, PROFILES), PROFILES)


def test_broker_reset_with_a_longer_new_log_is_refused_until_rebaselined(settings, services, catalog):
    from lakehouse.iceberg.bookkeeping import recorded_state

    _produce_profiles(settings, 300)
    ingest_topic(PROFILES, settings, **quiet)
    before = recorded_state(_bronze(catalog, PROFILES))
    assert before.topic_id and before.cluster_id
    services.down(log=lambda *_: None)
    services.up(log=lambda *_: None)  # in-memory broker: a new log, starting again at offset 0
    _produce_profiles(settings, 450, seed=9)  # longer than what the table recorded
    with pytest.raises(SourceChangedError, match=rf"topic id {re.escape(repr(before.topic_id))} -> .*rebaseline"):
        ingest_topic(PROFILES, settings, connect_timeout=5, **quiet)
    assert len(_coords(_bronze(catalog, PROFILES))) == 300  # nothing skipped, nothing appended

    result = ingest_topic(PROFILES, settings, rebaseline=True, **quiet)
    assert (result.rows, result.epoch) == (450, 1) and result.rebaselined
    table = _bronze(catalog, PROFILES)
    after = recorded_state(table)
    assert (after.epoch, after.rows_before, after.rows()) == (1, 300, 750)
    assert sum(r["rows"] for r in reconcile(table, PROFILES, since=result.started_from).values()) == 450
    rows = table.scan(selected_fields=("kafka_epoch", "kafka_partition", "kafka_offset")).to_arrow().to_pylist()
    assert len({(r["kafka_epoch"], r["kafka_partition"], r["kafka_offset"]) for r in rows}) == 750
    assert ingest_topic(PROFILES, settings, **quiet).rows == 0  # the new log is now the table's


def test_poison_timestamps_are_kept_raw_and_never_block_the_topic(settings, services, catalog):
    from lakehouse.core.names import TOPICS

    client = kafka.producer(settings)
    stamps = [9_300_000_000_000_000, 253_402_300_800_000, 1_700_000_000_000, 4_102_444_800_000]  # overflow, 10000 AD, ok, 2100
    for i, ms in enumerate(stamps):
        client.produce(TOPICS["profiles"], key=b"k", value=f'{{"n": {i}}}'.encode(), timestamp=ms, partition=0)
    assert client.flush(30) == 0
    assert ingest_topic(PROFILES, settings, **quiet).rows == len(stamps)
    rows = sorted(_bronze(catalog, PROFILES).scan().to_arrow().to_pylist(), key=lambda r: r["kafka_offset"])
    assert [r["kafka_timestamp_ms"] for r in rows] == stamps  # the producer's value, as sent
    assert [r["kafka_timestamp"] is None for r in rows] == [True, True, False, False]
    reconcile(_bronze(catalog, PROFILES), PROFILES)


def test_batches_are_bounded_by_bytes_as_well_as_count(settings, services, catalog):
    records = _produce_profiles(settings, 200)
    result = ingest_topic(PROFILES, settings, batch_size=1_000_000, max_batch_bytes=8_000, **quiet)
    assert result.rows == len(records)
    assert result.batches >= sum(len(r.value or b"") for r in records) // 8_000
    rows = _bronze(catalog, PROFILES).scan(selected_fields=("batch_id", "payload")).to_arrow().to_pylist()
    per_batch = Counter()
    for r in rows:
        per_batch[r["batch_id"]] += len(r["payload"] or b"")
    assert max(per_batch.values()) <= 2 * 8_000  # the bound, overshot by at most one poll's size variance
    reconcile(_bronze(catalog, PROFILES), PROFILES)
