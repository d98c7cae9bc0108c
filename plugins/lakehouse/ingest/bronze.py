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
import queue
import threading
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
    from lakehouse.catalog import ensure_table

    return ensure_table(catalog, bronze_table_name(topic), ARROW_SCHEMA, {
        # A concurrent writer must fail loudly, never be re-applied on top of
        # offsets it did not see (that would duplicate rows).
        "commit.retry.num-retries": "0",
        "lakehouse.layer": "bronze",
        "lakehouse.source-topic": topic,
    })


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
    """Messages of one future Iceberg commit; offsets were checked contiguous when added."""

    def __init__(self, topic: str):
        self.topic = topic
        self.batch_id = uuid.uuid4().hex
        self.msgs: list = []
        self.first: dict[int, int] = {}  # partition -> first offset in this batch
        self.next: dict[int, int] = {}  # partition -> next offset after this batch (cumulative)

    def __len__(self):
        return len(self.msgs)

    def ranges(self) -> dict[int, list[int]]:
        return {p: [first, self.next[p] - 1] for p, first in sorted(self.first.items())}

    def to_arrow(self) -> pa.Table:
        msgs = self.msgs
        n = len(msgs)
        now = datetime.now(UTC)
        stamps = [m.timestamp() for m in msgs]
        return pa.Table.from_arrays(
            [
                pa.array([self.topic] * n, pa.string()),
                pa.array([m.partition() for m in msgs], pa.int32()),
                pa.array([m.offset() for m in msgs], pa.int64()),
                pa.array([m.key() for m in msgs], pa.binary()),
                pa.array([m.value() for m in msgs], pa.binary()),
                pa.array([ms * 1000 if kind and ms >= 0 else None for kind, ms in stamps],
                         pa.timestamp("us", tz="UTC")),
                pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                pa.array([self.batch_id] * n, pa.string()),
            ],
            schema=ARROW_SCHEMA,
        )


class _OrderedWriter(threading.Thread):
    """Commits batches to the Bronze table one by one, in order, while the next batch is consumed.

    At most one batch waits in the queue. After a failure nothing later is
    committed; the error is re-raised in the consuming thread.
    """

    _DONE = object()

    def __init__(self, table, result: IngestResult, dag_id: str, run_id: str, log):
        super().__init__(name=f"bronze-writer-{result.table}", daemon=True)
        self.table, self.result, self.dag_id, self.run_id, self.log = table, result, dag_id, run_id, log
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None

    def submit(self, batch: _Batch) -> None:
        while self.error is None:
            try:
                self.queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue
        self.raise_if_failed()

    def finish(self) -> None:
        if self.is_alive():
            self.queue.put(self._DONE)
            self.join()
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is self._DONE:
                return
            if self.error is not None:
                continue  # drain without committing anything after a failure
            try:
                self._commit(batch)
            except BaseException as exc:
                self.error = exc

    def _commit(self, batch: _Batch) -> None:
        from pyiceberg.exceptions import CommitFailedException

        ranges = batch.ranges()
        summary = {
            SUMMARY_TOPIC: batch.topic,
            SUMMARY_RANGES: json.dumps({str(p): r for p, r in ranges.items()}),
            SUMMARY_NEXT: json.dumps({str(p): o for p, o in sorted(batch.next.items())}),
            "lakehouse.batch-id": batch.batch_id,
            "lakehouse.rows": str(len(batch)),
            "airflow.dag_id": self.dag_id,
            "airflow.run_id": self.run_id,
        }
        try:
            self.table.append(batch.to_arrow(), snapshot_properties=summary)
        except CommitFailedException as exc:
            raise IngestError(
                f"concurrent write to {self.result.table} detected; nothing from this batch was committed, "
                f"a retry resumes from the table's offsets ({exc})"
            ) from exc
        result = self.result
        result.rows += len(batch)
        result.batches += 1
        result.next_offsets = dict(batch.next)
        result.snapshot_ids.append(self.table.current_snapshot().snapshot_id)
        for p, (first, last) in ranges.items():
            result.ranges.setdefault(p, [first, last])[1] = last
        self.log(f"{result.table}: committed {len(batch)} rows, offsets {summary[SUMMARY_RANGES]}")


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
    """Consume ``topic`` from the table's recorded offsets to the end of each partition (or a bound)."""
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
    writer = _OrderedWriter(table, result, dag_id, run_id, log)
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
        expected = recorded_offsets(table)  # partition -> next offset to take
        for p in partitions:
            # Only the low watermark is trusted: tansu 0.6 reports a wrong high watermark
            # for multi-record batches, so the end of a partition is librdkafka's EOF event.
            low, _ = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=connect_timeout)
            start = expected.setdefault(p, low)
            if start < low:
                raise IngestError(
                    f"{topic}[{p}]: table expects offset {start} but the broker's earliest is {low}; "
                    f"offsets {start}..{low - 1} were deleted before ingestion (data loss)"
                )
        result.next_offsets = dict(expected)
        consumer.assign([TopicPartition(topic, p, expected[p]) for p in partitions])
        writer.start()
        active = set(partitions)
        # A partition that yields neither a message nor an EOF for this long is stalled: tansu
        # answers a fetch beyond its log end (e.g. after a broker reset) with nothing at all.
        stall_timeout = max(connect_timeout, 5.0)
        last_progress = dict.fromkeys(partitions, time.monotonic())
        batch, taken = _Batch(topic), 0
        while active:
            writer.raise_if_failed()
            if max_records is not None and taken >= max_records:
                result.stopped_because = "max_records"
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                result.stopped_because = "max_seconds"
                break
            want = batch_size - len(batch)
            if max_records is not None:
                want = min(want, max_records - taken)
            msgs = consumer.consume(max(1, min(want, 10_000)), 1.0)
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
                            f"{topic}[{p}]: the table resumes at offset {expected[p]} which the broker "
                            f"does not have (broker log reset or truncated?): {err}"
                        )
                    raise IngestError(f"{topic}[{p}]: consume error {err}")
                offset = msg.offset()
                if offset != expected[p]:
                    if offset < expected[p]:  # duplicate delivery of something already taken
                        result.redelivered += 1
                        continue
                    raise IngestError(
                        f"{topic}[{p}]: expected offset {expected[p]} but the broker delivered {offset}: "
                        f"offsets {expected[p]}..{offset - 1} are missing (broker reset or data deleted?)"
                    )
                if max_records is not None and taken >= max_records:
                    break
                batch.msgs.append(msg)
                batch.first.setdefault(p, offset)
                expected[p] = offset + 1
                taken += 1
            if len(batch) >= batch_size:
                batch.next = dict(expected)
                writer.submit(batch)
                batch = _Batch(topic)
            stalled = [p for p in active if time.monotonic() - last_progress[p] > stall_timeout]
            if stalled:
                p = stalled[0]
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=connect_timeout)
                raise IngestError(
                    f"{topic}[{p}]: no data and no end-of-partition for {stall_timeout:.0f}s at offset "
                    f"{expected[p]}; the broker reports log end {high} (broker log reset or truncated?). "
                    f"Nothing after the last committed batch was committed."
                )
        else:
            result.stopped_because = "end of partitions"
        if len(batch):
            batch.next = dict(expected)
            writer.submit(batch)
        writer.finish()
        if result.batches:
            with contextlib.suppress(Exception):  # a hint for lag monitoring only; the table is the truth
                consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in result.next_offsets.items()],
                                asynchronous=False)
        return result
    finally:
        if writer.is_alive():  # an error left it running: let it finish what it holds, commit nothing new
            writer.error = writer.error or IngestError("ingestion aborted")
            writer.queue.put(_OrderedWriter._DONE)
            writer.join()
        result.seconds = round(time.monotonic() - started, 3)
        consumer.close()


class ReconciliationError(IngestError):
    data_breach = True  # the table disagrees with its own offset bookkeeping: a retry cannot fix that


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
