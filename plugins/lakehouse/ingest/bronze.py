"""Kafka -> Bronze: raw bytes into Iceberg, exactly once.

Each batch is one Iceberg append whose snapshot summary records the offset
range it consumed per partition (``kafka.ranges``) and the cumulative next
offset per partition (``kafka.next-offsets``). A consumer resumes from what
the table says, so a killed or re-run task never duplicates and never skips:
the data and its offsets commit atomically, in the same snapshot. The
broker's committed group offsets are written afterwards, as a hint only.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.config import TOPICS, Settings, bronze_table_name

SUMMARY_RANGES = "kafka.ranges"
SUMMARY_NEXT = "kafka.next-offsets"
SUMMARY_TOPIC = "kafka.topic"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # Bronze keeps whatever the broker accepted, up to this


BRONZE_TABLES = {topic: bronze_table_name(topic) for topic in TOPICS.values()}

ARROW_SCHEMA = pa.schema([
    pa.field("topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_key", pa.binary()),
    pa.field("payload", pa.binary()),
    pa.field("kafka_timestamp", pa.timestamp("us", tz="UTC")),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
])


class IngestError(RuntimeError):
    pass


@dataclass
class IngestResult:
    topic: str
    table: str
    rows: int = 0
    batches: int = 0
    ranges: dict[int, list[int]] = field(default_factory=dict)  # partition -> [first, last]
    next_offsets: dict[int, int] = field(default_factory=dict)
    snapshot_ids: list[int] = field(default_factory=list)
    redelivered: int = 0  # messages seen again at an offset already ingested (skipped)
    stopped_because: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def ensure_bronze_table(catalog, topic: str):
    """Create the Bronze table for ``topic`` if missing (Bronze never parses: bytes in, bytes kept)."""
    from pyiceberg.exceptions import TableAlreadyExistsError

    name = bronze_table_name(topic)
    catalog.create_namespace_if_not_exists("bronze")
    try:
        return catalog.create_table(
            name,
            schema=ARROW_SCHEMA,
            properties={
                # A concurrent writer must fail loudly, never be re-applied on top of
                # offsets it did not see (that would duplicate rows).
                "commit.retry.num-retries": "0",
                "format-version": "2",
                "lakehouse.layer": "bronze",
                "lakehouse.source-topic": topic,
            },
        )
    except TableAlreadyExistsError:
        return catalog.load_table(name)


def recorded_offsets(table) -> dict[int, int]:
    """Next offset to consume per partition, as recorded by the newest ingest snapshot."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        props = snapshot.summary.additional_properties if snapshot.summary else {}
        if SUMMARY_NEXT in props:
            return {int(p): int(o) for p, o in json.loads(props[SUMMARY_NEXT]).items()}
        if snapshot.parent_snapshot_id is None:
            break
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id)
    return {}


class _Batch:
    def __init__(self):
        self.cols = {name: [] for name in ARROW_SCHEMA.names}
        self.ranges: dict[int, list[int]] = {}

    def __len__(self):
        return len(self.cols["kafka_offset"])

    def add(self, msg, ingested_at: datetime, batch_id: str) -> None:
        partition, offset = msg.partition(), msg.offset()
        ts_type, ts_ms = msg.timestamp()
        c = self.cols
        c["topic"].append(msg.topic())
        c["kafka_partition"].append(partition)
        c["kafka_offset"].append(offset)
        c["kafka_key"].append(msg.key())
        c["payload"].append(msg.value())
        c["kafka_timestamp"].append(ts_ms * 1000 if ts_type and ts_ms >= 0 else None)
        c["ingested_at"].append(ingested_at)
        c["batch_id"].append(batch_id)
        rng = self.ranges.get(partition)
        if rng is None:
            self.ranges[partition] = [offset, offset]
        else:
            rng[1] = offset

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pydict(self.cols, schema=ARROW_SCHEMA)


def ingest_topic(
    topic: str,
    settings: Settings,
    *,
    max_records: int | None = None,
    max_seconds: float | None = None,
    batch_size: int = 50_000,
    connect_timeout: float = 15.0,
    dag_id: str = "",
    run_id: str = "",
    catalog=None,
    client_overrides: dict | None = None,
    log=print,
) -> IngestResult:
    """Consume ``topic`` from the table's recorded offsets up to the high watermark seen at start."""
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    from lakehouse import kafka
    from lakehouse.catalog import get_catalog

    catalog = catalog or get_catalog(settings)
    table = ensure_bronze_table(catalog, topic)
    result = IngestResult(topic=topic, table=bronze_table_name(topic))
    started = time.monotonic()
    consumer = kafka.consumer(
        f"lakehouse-bronze-{topic}",
        settings,
        **{
            "socket.timeout.ms": int(connect_timeout * 1000),
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": MAX_MESSAGE_BYTES,
            "receive.message.max.bytes": 2 * 64 * 1024 * 1024,
            # an offset beyond the log (broker reset) must surface as an error, not a silent restart
            "auto.offset.reset": "error",
            **(client_overrides or {}),
        },
    )
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=connect_timeout)
        except KafkaException as exc:
            raise IngestError(
                f"broker {settings.kafka_bootstrap} unreachable for topic {topic} within {connect_timeout:.0f}s: {exc}"
            ) from exc
        topic_md = metadata.topics.get(topic)
        if topic_md is None or topic_md.error is not None or not topic_md.partitions:
            raise IngestError(f"topic {topic} not found on broker {settings.kafka_bootstrap}")
        partitions = sorted(topic_md.partitions)
        next_offsets = recorded_offsets(table)
        assignment = []
        for p in partitions:
            # Only the low watermark is trusted: tansu 0.6 reports a wrong high watermark
            # for multi-record batches, so the end of a partition is librdkafka's EOF event.
            low, _ = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=connect_timeout)
            start = next_offsets.get(p, low)
            if start < low:
                raise IngestError(
                    f"{topic}[{p}]: table expects offset {start} but the broker's earliest is {low}; "
                    f"offsets {start}..{low - 1} were deleted before ingestion (data loss)"
                )
            next_offsets.setdefault(p, start)
            assignment.append(TopicPartition(topic, p, start))
        result.next_offsets = dict(next_offsets)
        consumer.assign(assignment)
        active = set(partitions)
        # A partition that yields neither a message nor an EOF for this long is stalled: tansu
        # answers a fetch beyond its log end (e.g. after a broker reset) with nothing at all.
        stall_timeout = max(connect_timeout, 5.0)
        last_progress = dict.fromkeys(partitions, time.monotonic())
        batch = _Batch()
        batch_id = uuid.uuid4().hex
        while active:
            if max_records is not None and result.rows + len(batch) >= max_records:
                result.stopped_because = "max_records"
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                result.stopped_because = "max_seconds"
                break
            want = batch_size - len(batch)
            if max_records is not None:
                want = min(want, max_records - result.rows - len(batch))
            msgs = consumer.consume(max(1, min(want, 10_000)), 1.0)
            now = datetime.now(UTC)
            tick = time.monotonic()
            for msg in msgs:
                p = msg.partition()
                if p not in active:
                    continue  # past this run's end for p: the next run resumes from the table
                last_progress[p] = tick
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        active.discard(p)
                        continue
                    if err.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
                        raise IngestError(
                            f"{topic}[{p}]: the table resumes at offset {next_offsets[p]} which the broker "
                            f"does not have (broker log reset or truncated?): {err}"
                        )
                    raise IngestError(f"{topic}[{p}]: consume error {err}")
                if max_records is not None and result.rows + len(batch) >= max_records:
                    break
                expected = next_offsets[p] if p not in batch.ranges else batch.ranges[p][1] + 1
                if msg.offset() < expected:  # duplicate delivery of something already taken
                    result.redelivered += 1
                    continue
                if msg.offset() > expected:
                    raise IngestError(
                        f"{topic}[{p}]: expected offset {expected} but the broker delivered {msg.offset()}: "
                        f"offsets {expected}..{msg.offset() - 1} are missing (broker reset or data deleted?)"
                    )
                batch.add(msg, now, batch_id)
            if len(batch) >= batch_size:
                _commit(table, batch, next_offsets, result, topic, batch_id, dag_id, run_id, consumer, log)
                batch, batch_id = _Batch(), uuid.uuid4().hex
            stalled = [p for p in active if time.monotonic() - last_progress[p] > stall_timeout]
            if stalled:
                p = stalled[0]
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=connect_timeout)
                position = batch.ranges[p][1] + 1 if p in batch.ranges else next_offsets[p]
                raise IngestError(
                    f"{topic}[{p}]: no data and no end-of-partition for {stall_timeout:.0f}s at offset "
                    f"{position}; the broker reports log end {high} (broker log reset or truncated?). "
                    f"Nothing from the current batch was committed."
                )
        else:
            result.stopped_because = "end of partitions"
        if len(batch):
            _commit(table, batch, next_offsets, result, topic, batch_id, dag_id, run_id, consumer, log)
        return result
    finally:
        result.seconds = round(time.monotonic() - started, 3)
        consumer.close()


def _commit(table, batch: _Batch, next_offsets, result: IngestResult, topic, batch_id, dag_id, run_id,
            consumer, log) -> None:
    from confluent_kafka import TopicPartition
    from pyiceberg.exceptions import CommitFailedException

    new_next = dict(next_offsets)
    for p, (_, last) in batch.ranges.items():
        new_next[p] = last + 1
    summary = {
        SUMMARY_TOPIC: topic,
        SUMMARY_RANGES: json.dumps({str(p): r for p, r in sorted(batch.ranges.items())}),
        SUMMARY_NEXT: json.dumps({str(p): o for p, o in sorted(new_next.items())}),
        "lakehouse.batch-id": batch_id,
        "lakehouse.rows": str(len(batch)),
        "airflow.dag_id": dag_id,
        "airflow.run_id": run_id,
    }
    try:
        table.append(batch.to_arrow(), snapshot_properties=summary)
    except CommitFailedException as exc:
        raise IngestError(
            f"concurrent write to {result.table} detected; nothing from this batch was committed, "
            f"a retry resumes from the table's offsets ({exc})"
        ) from exc
    next_offsets.update(new_next)
    result.rows += len(batch)
    result.batches += 1
    result.next_offsets = dict(new_next)
    result.snapshot_ids.append(table.current_snapshot().snapshot_id)
    for p, (first, last) in batch.ranges.items():
        if p in result.ranges:
            result.ranges[p][1] = last
        else:
            result.ranges[p] = [first, last]
    log(f"{result.table}: committed {len(batch)} rows, offsets {summary[SUMMARY_RANGES]}")
    with contextlib.suppress(Exception):  # a hint for lag monitoring only; the table is the truth
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in new_next.items()], asynchronous=True)


class ReconciliationError(IngestError):
    pass


def reconcile(table, topic: str) -> dict[int, dict]:
    """Check Bronze against its own offset bookkeeping, per partition.

    Rows in the table == offsets recorded as consumed, the recorded ranges are
    contiguous from the first offset ever consumed, and the (partition, offset)
    pairs in the data are unique and exactly those ranges. Raises naming the
    topic, partition and offsets of the first mismatch.
    """
    import pyarrow.compute as pc

    ranges: dict[int, list[list[int]]] = {}
    for snap in sorted(table.snapshots(), key=lambda s: s.sequence_number):
        props = snap.summary.additional_properties if snap.summary else {}
        if SUMMARY_RANGES in props:
            for p, (first, last) in json.loads(props[SUMMARY_RANGES]).items():
                ranges.setdefault(int(p), []).append([first, last])
    data = table.scan(selected_fields=("kafka_partition", "kafka_offset")).to_arrow()
    report: dict[int, dict] = {}
    partitions = set(ranges) | set(pc.unique(data["kafka_partition"]).to_pylist())
    for p in sorted(partitions):
        spans = ranges.get(p, [])
        for (_, prev_last), (first, last) in zip(spans, spans[1:], strict=False):
            if first != prev_last + 1:
                kind = "gap" if first > prev_last + 1 else "overlap"
                raise ReconciliationError(
                    f"{topic}[{p}]: recorded ranges have a {kind}: ...{prev_last} then {first}..{last}"
                )
        offsets = data.filter(pc.equal(data["kafka_partition"], p))["kafka_offset"]
        expected_rows = sum(last - first + 1 for first, last in spans)
        if len(offsets) != expected_rows:
            raise ReconciliationError(
                f"{topic}[{p}]: {len(offsets)} rows in {table.name()} but {expected_rows} offsets recorded "
                f"as consumed ({spans[0][0] if spans else '-'}..{spans[-1][1] if spans else '-'})"
            )
        if expected_rows:
            first, last = spans[0][0], spans[-1][1]
            distinct = len(pc.unique(offsets))
            lo, hi = pc.min(offsets).as_py(), pc.max(offsets).as_py()
            if distinct != expected_rows or lo != first or hi != last:
                raise ReconciliationError(
                    f"{topic}[{p}]: data holds {distinct} distinct offsets in {lo}..{hi}, "
                    f"bookkeeping says {expected_rows} in {first}..{last}"
                )
        report[p] = {"rows": expected_rows, "first": spans[0][0] if spans else None,
                     "last": spans[-1][1] if spans else None}
    return report
