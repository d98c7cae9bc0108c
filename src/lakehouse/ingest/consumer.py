"""Kafka -> Bronze: the consumer loop, exactly once.

A run resumes from the offsets the Bronze table recorded (not only the
broker's committed group offsets), checks every delivered offset is the next
one expected, and hands full batches to the :class:`~lakehouse.ingest.writer.OrderedWriter`,
which commits them with their offsets. A killed or re-run task therefore
never duplicates and never skips. The broker's group offsets are written
afterwards, as a hint for lag monitoring only.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from lakehouse import kafka
from lakehouse.config import Settings
from lakehouse.core.errors import SourceChangedError
from lakehouse.core.names import bronze_table_name
from lakehouse.core.offsets import BronzeState
from lakehouse.iceberg.bookkeeping import recorded_state
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.ledger import erased_subjects
from lakehouse.ingest.bronze_table import ensure_bronze_table
from lakehouse.ingest.writer import Batch, IngestError, IngestResult, OrderedWriter
from lakehouse.kafka import ClientConfig

log = logging.getLogger(__name__)
Log = Callable[[str], object]  # where a run's progress lines go (print, or a task's logger)

if TYPE_CHECKING:  # confluent-kafka and pyiceberg load where a task ingests, not with this module
    from confluent_kafka import Consumer, KafkaError
    from pyiceberg.catalog import Catalog

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # Bronze keeps whatever the broker accepted, up to this
MAX_POLL = 10_000  # messages per consume() call
MAX_BATCH_BYTES = 256 * 1024 * 1024  # payload bytes per Iceberg commit (besides the record count)


def ingest_topic(
    topic: str,
    settings: Settings,
    *,
    max_records: int | None = None,
    max_seconds: float | None = None,
    batch_size: int = 50_000,
    max_batch_bytes: int = MAX_BATCH_BYTES,
    connect_timeout: float = 15.0,
    rebaseline: bool = False,
    dag_id: str = "",
    run_id: str = "",
    catalog: Catalog | None = None,
    client_overrides: ClientConfig | None = None,
    log: Log = print,
) -> IngestResult:
    """Consume ``topic`` from the table's recorded offsets to the end of each partition (or a bound).

    ``rebaseline``: accept a broker log other than the one the table's offsets belong to
    (a new topic id or cluster id, e.g. after an in-memory broker restarted) and start a
    new epoch at the new log's earliest offsets; without it such a change is refused.
    """
    from confluent_kafka import TopicPartition

    table = ensure_bronze_table(catalog or get_catalog(settings), topic)
    current = table.current_snapshot()
    result = IngestResult(topic=topic, table=bronze_table_name(topic),
                          started_from=current.snapshot_id if current else None)
    started = time.monotonic()
    consumer = _open_consumer(topic, settings, connect_timeout, client_overrides)
    writer = None
    try:
        partitions, cluster_id = _partitions(consumer, topic, settings, connect_timeout)
        topic_id = _topic_id(topic, settings, client_overrides, connect_timeout)
        recorded = recorded_state(table)
        state = resume_state(recorded, topic, cluster_id, topic_id, rebaseline=rebaseline, log=log)
        expected = _start_offsets(consumer, topic, partitions, state.next, connect_timeout)
        state = replace(state, first={**expected, **state.first}, next=dict(expected))
        result.next_offsets, result.epoch = dict(expected), state.epoch
        result.rebaselined = state.topic_id if state.epoch != recorded.epoch else ""
        consumer.assign([TopicPartition(topic, p, expected[p]) for p in partitions])
        writer = OrderedWriter(table, result, state, dag_id, run_id, log, erased_subjects(settings))
        writer.start()
        loop = _ConsumeLoop(consumer, topic, expected, partitions, writer, result, batch_size=batch_size,
                            max_batch_bytes=max_batch_bytes, epoch=state.epoch, max_records=max_records,
                            stall_timeout=max(connect_timeout, 5.0), connect_timeout=connect_timeout)
        deadline = started + max_seconds if max_seconds is not None else None
        result.stopped_because = loop.run(deadline)
        writer.finish()
        _commit_group_offsets(consumer, topic, result)
        return result
    finally:
        if writer is not None:
            writer.abort()
        result.seconds = round(time.monotonic() - started, 3)
        consumer.close()


def _open_consumer(topic: str, settings: Settings, connect_timeout: float,
                   client_overrides: ClientConfig | None) -> Consumer:
    return kafka.consumer(
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


def resume_state(recorded: BronzeState, topic: str, cluster_id: str, topic_id: str, *, rebaseline: bool,
                 log: Log = print) -> BronzeState:
    """The bookkeeping to resume from, after checking the broker log is the one it was recorded against.

    A table written before ids were recorded adopts the current ones. A changed id
    means the log the offsets point into is gone (an in-memory broker restarted, a
    topic deleted and re-created): resuming at the recorded offsets would skip the
    new log's first messages, so it is refused unless ``rebaseline`` asks for a new epoch.
    """
    changed = [f"{name} {old!r} -> {new!r}" for name, old, new in
               (("cluster id", recorded.cluster_id, cluster_id), ("topic id", recorded.topic_id, topic_id))
               if old and new and old != new]
    if not changed:
        return replace(recorded, cluster_id=cluster_id or recorded.cluster_id, topic_id=topic_id or recorded.topic_id)
    if not rebaseline:
        raise SourceChangedError(
            f"{topic}: the broker log changed since Bronze last recorded offsets ({'; '.join(changed)}); "
            f"resuming at offsets {recorded.next} of the old log could skip or mis-assign records. Nothing "
            f"was consumed. To start a new epoch at the new log's earliest offsets, trigger kol_ingest with "
            f"the Param rebaseline=true (ingest_topic(..., rebaseline=True)); the change is recorded as a check."
        )
    log(f"{topic}: re-baselining onto a new broker log ({'; '.join(changed)}); epoch {recorded.epoch + 1} "
        f"starts at the new log's earliest offsets, {recorded.rows()} rows of earlier epochs kept")
    return BronzeState(epoch=recorded.epoch + 1, cluster_id=cluster_id, topic_id=topic_id,
                       rows_before=recorded.rows())


def _topic_id(topic: str, settings: Settings, client_overrides: ClientConfig | None, timeout: float) -> str:
    """The broker's id of ``topic`` (a UUID that changes when the topic is re-created); empty when the broker
    cannot describe topics (an older broker: only the cluster id is compared then).

    Only that is swallowed: an authorization or any other error propagates, since it would silently turn the
    broker-reset guard off."""
    from confluent_kafka import KafkaError, KafkaException, TopicCollection

    client = kafka.admin(settings, **(client_overrides or {}))  # must outlive the future it answers
    try:
        described = client.describe_topics(TopicCollection([topic]), request_timeout=timeout)[topic].result(timeout)
    except KafkaException as exc:
        if exc.args[0].code() not in (KafkaError.UNSUPPORTED_VERSION, KafkaError._UNSUPPORTED_FEATURE):
            raise
        log.warning("%s: the broker cannot describe topics (%s): only its cluster id guards the offsets", topic, exc)
        return ""
    return str(described.topic_id or "")


def _partitions(consumer: Consumer, topic: str, settings: Settings, connect_timeout: float) -> tuple[list[int], str]:
    from confluent_kafka import KafkaException

    try:
        metadata = consumer.list_topics(topic, timeout=connect_timeout)
    except KafkaException as exc:
        raise IngestError(
            f"broker {settings.kafka_bootstrap} unreachable for topic {topic} within {connect_timeout:.0f}s: {exc}"
        ) from exc
    topic_md = metadata.topics.get(topic)
    if topic_md is None or topic_md.error is not None or not topic_md.partitions:
        raise IngestError(f"topic {topic} not found on broker {settings.kafka_bootstrap}")
    return sorted(topic_md.partitions), str(metadata.cluster_id or "")


def _start_offsets(consumer: Consumer, topic: str, partitions: list[int], recorded: dict[int, int],
                   connect_timeout: float) -> dict[int, int]:
    """Next offset to take per partition: the table's record, else the broker's earliest.

    Only the low watermark is trusted: tansu 0.6 reports a wrong high watermark
    for multi-record batches, so the end of a partition is librdkafka's EOF event.
    """
    from confluent_kafka import TopicPartition

    expected = dict(recorded)
    for p in partitions:
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=connect_timeout)
        start = expected.setdefault(p, low)
        if start < low:
            raise IngestError(
                f"{topic}[{p}]: table expects offset {start} but the broker's earliest is {low}; "
                f"offsets {start}..{low - 1} were deleted before ingestion (data loss)"
            )
    return expected


def _commit_group_offsets(consumer: Consumer, topic: str, result: IngestResult) -> None:
    from confluent_kafka import TopicPartition

    if result.batches:
        with contextlib.suppress(Exception):  # a hint for lag monitoring only; the table is the truth
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in result.next_offsets.items()],
                            asynchronous=False)


class _ConsumeLoop:
    """Takes messages in offset order into batches until every partition ends, or a bound is hit."""

    def __init__(self, consumer: Consumer, topic: str, expected: dict[int, int], partitions: list[int], writer: OrderedWriter,
                 result: IngestResult, *, batch_size: int, max_batch_bytes: int, epoch: int,
                 max_records: int | None, stall_timeout: float, connect_timeout: float) -> None:
        self.consumer, self.topic, self.expected, self.epoch = consumer, topic, expected, epoch
        self.writer, self.result = writer, result
        self.batch_size, self.max_batch_bytes, self.max_records = batch_size, max_batch_bytes, max_records
        self.stall_timeout, self.connect_timeout = stall_timeout, connect_timeout
        self.active = set(partitions)
        self.last_progress = dict.fromkeys(partitions, time.monotonic())
        self.batch, self.taken, self.mean_bytes = Batch(topic, epoch), 0, 1024.0

    def run(self, deadline: float | None) -> str:
        """Consume; returns why it stopped. The last partial batch is handed to the writer."""
        stopped = "end of partitions"
        while self.active:
            self.writer.raise_if_failed()
            if self._limit_reached():
                stopped = "max_records"
                break
            if deadline is not None and time.monotonic() >= deadline:
                stopped = "max_seconds"
                break
            self._poll_once()
            if len(self.batch) >= self.batch_size or self.batch.nbytes >= self.max_batch_bytes:
                self._flush()
            self._raise_if_stalled()
        if len(self.batch):
            self._flush()
        return stopped

    def _limit_reached(self) -> bool:
        return self.max_records is not None and self.taken >= self.max_records

    def _poll_once(self) -> None:
        """One consume() call: take each message that is next in its partition into the batch.

        The hot path of ingestion (every message passes here): locals, no per-message calls
        beyond librdkafka's accessors; the rare cases go to :meth:`_on_error` / :meth:`_out_of_order`.
        """
        want = min(self.batch_size - len(self.batch), self._room_by_bytes())
        if self.max_records is not None:
            want = min(want, self.max_records - self.taken)
        msgs = self.consumer.consume(max(1, min(want, MAX_POLL)), 1.0)
        tick = time.monotonic()
        active, expected, last_progress = self.active, self.expected, self.last_progress
        taken_msgs, first = self.batch.msgs, self.batch.first
        limit, taken, nbytes = self.max_records, self.taken, self.batch.nbytes
        for msg in msgs:
            p = msg.partition()
            if p not in active:
                continue  # past this run's end for p: the next run resumes from the table
            last_progress[p] = tick
            err = msg.error()
            if err is not None:
                self._on_error(p, err)
                continue
            offset = msg.offset()
            if offset != expected[p]:
                self._out_of_order(p, offset)
                continue
            if limit is not None and taken >= limit:
                break
            taken_msgs.append(msg)
            if p not in first:
                first[p] = offset
            expected[p] = offset + 1
            taken += 1
            nbytes += len(msg)
        self.taken, self.batch.nbytes = taken, nbytes

    def _on_error(self, p: int, err: KafkaError) -> None:
        from confluent_kafka import KafkaError

        if err.code() == KafkaError._PARTITION_EOF:
            self.active.discard(p)
            return
        if err.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
            raise IngestError(
                f"{self.topic}[{p}]: the table resumes at offset {self.expected[p]} which the broker "
                f"does not have (broker log reset or truncated?): {err}"
            )
        raise IngestError(f"{self.topic}[{p}]: consume error {err}")

    def _out_of_order(self, p: int, offset: int | None) -> None:
        """Not the offset expected next: a redelivery is skipped and counted, a gap raises (a message without an
        offset, which a consumer never receives, raises too)."""
        if offset is not None and offset < self.expected[p]:  # duplicate delivery of something already taken
            self.result.redelivered += 1
            return
        raise IngestError(
            f"{self.topic}[{p}]: expected offset {self.expected[p]} but the broker delivered {offset}: "
            f"offsets {self.expected[p]}..{offset - 1 if offset is not None else '?'} are missing (broker reset or "
            f"data deleted?)"
        )

    def _room_by_bytes(self) -> int:
        """Messages that still fit the batch's byte bound, at the mean size seen so far (1 KiB before any)."""
        mean = self.batch.nbytes / len(self.batch) if len(self.batch) else self.mean_bytes
        return int((self.max_batch_bytes - self.batch.nbytes) // max(mean, 1.0))

    def _flush(self) -> None:
        if len(self.batch):
            self.mean_bytes = self.batch.nbytes / len(self.batch)
        self.batch.next = dict(self.expected)
        self.writer.submit(self.batch)
        self.batch = Batch(self.topic, self.epoch)

    def _raise_if_stalled(self) -> None:
        """A partition with neither a message nor an EOF for ``stall_timeout``: tansu answers a fetch
        beyond its log end (e.g. after a broker reset) with nothing at all."""
        from confluent_kafka import TopicPartition

        now = time.monotonic()
        stalled = [p for p in self.active if now - self.last_progress[p] > self.stall_timeout]
        if not stalled:
            return
        p = stalled[0]
        _, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=self.connect_timeout)
        raise IngestError(
            f"{self.topic}[{p}]: no data and no end-of-partition for {self.stall_timeout:.0f}s at offset "
            f"{self.expected[p]}; the broker reports log end {high} (broker log reset or truncated?). "
            f"Nothing after the last committed batch was committed."
        )
