"""Batches of consumed messages and the thread that commits them to Bronze, in order."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.core.erasure import ErasedSubjects
from lakehouse.core.names import (
    BATCH_ID,
    BATCH_ROWS,
    KAFKA_RANGES,
    KAFKA_TOPIC,
    run_properties,
)
from lakehouse.core.offsets import BronzeState
from lakehouse.ingest.bronze_table import ARROW_SCHEMA, ERASED_AT_INGEST

if TYPE_CHECKING:
    from confluent_kafka import Message
    from pyiceberg.table import Table

# 9999-12-31T23:59:59.999Z: a larger CreateTime (or a negative one) is kept raw, the timestamp is null
MAX_TIMESTAMP_MS = 253_402_300_799_999


class IngestError(RuntimeError):
    """Kafka -> Bronze could not go on (broker, offsets, concurrent writer); a retry resumes from the table."""


@dataclass
class IngestResult:
    topic: str
    table: str
    rows: int = 0
    batches: int = 0
    ranges: dict[int, list[int]] = field(default_factory=dict)  # partition -> [first, last]
    next_offsets: dict[int, int] = field(default_factory=dict)
    snapshot_ids: list[int] = field(default_factory=list)
    started_from: int | None = None  # Bronze snapshot this run resumed from
    epoch: int = 0
    rebaselined: str = ""  # the source change accepted by this run (empty: none)
    redelivered: int = 0  # messages seen again at an offset already ingested (skipped)
    erased: int = 0  # records of an erased subject: offsets kept, key and payload never written
    stopped_because: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Batch:
    """Messages of one future Iceberg commit; offsets were checked contiguous when added."""

    def __init__(self, topic: str, epoch: int = 0) -> None:
        self.topic, self.epoch = topic, epoch
        self.batch_id = uuid.uuid4().hex
        self.msgs: list[Message] = []
        self.nbytes = 0  # payload bytes, a second bound on the batch besides its length
        self.first: dict[int, int] = {}  # partition -> first offset in this batch
        self.next: dict[int, int] = {}  # partition -> next offset after this batch (cumulative)

    def __len__(self) -> int:
        return len(self.msgs)

    def ranges(self) -> dict[int, list[int]]:
        return {p: [first, self.next[p] - 1] for p, first in sorted(self.first.items())}

    def summary(self, state: BronzeState, dag_id: str, run_id: str) -> dict[str, str]:
        """The snapshot summary that makes this commit's offsets (``state``, after it) the table's bookkeeping."""
        return {
            KAFKA_TOPIC: self.topic,
            KAFKA_RANGES: json.dumps({str(p): r for p, r in self.ranges().items()}),
            **state.to_summary(),
            BATCH_ID: self.batch_id,
            BATCH_ROWS: str(len(self)),
            **run_properties(dag_id, run_id),
        }

    def to_arrow(self, erased: ErasedSubjects | None = None) -> pa.Table:
        """The batch as Bronze rows; a record of a subject in ``erased`` keeps its offsets, never its key or
        payload (``erased_by`` says why)."""
        msgs = self.msgs
        n = len(msgs)
        now = datetime.now(UTC)
        raw_ms = [ms if kind else None for kind, ms in (m.timestamp() for m in msgs)]
        refused = [erased.holds(m.value()) for m in msgs] if erased else [False] * n
        return pa.Table.from_arrays(
            [
                pa.array([self.topic] * n, pa.string()),
                pa.array([m.partition() for m in msgs], pa.int32()),
                pa.array([m.offset() for m in msgs], pa.int64()),
                pa.array([None if r else m.key() for m, r in zip(msgs, refused, strict=True)], pa.binary()),
                pa.array([None if r else m.value() for m, r in zip(msgs, refused, strict=True)], pa.binary()),
                pa.array([ms * 1000 if ms is not None and 0 <= ms <= MAX_TIMESTAMP_MS else None for ms in raw_ms],
                         pa.timestamp("us", tz="UTC")),
                pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                pa.array([self.batch_id] * n, pa.string()),
                pa.array(raw_ms, pa.int64()),
                pa.array([self.epoch] * n, pa.int32()),
                pa.array([ERASED_AT_INGEST if r else None for r in refused], pa.string()),
            ],
            schema=ARROW_SCHEMA,
        )


class OrderedWriter(threading.Thread):
    """Commits batches to the Bronze table one by one, in order, while the next batch is consumed.

    At most one batch waits in the queue. After a failure nothing later is
    committed; the error is re-raised in the consuming thread.
    """

    _DONE = object()

    def __init__(self, table: Table, result: IngestResult, state: BronzeState, dag_id: str, run_id: str,
                 log: Callable[[str], object], erased: ErasedSubjects | None = None) -> None:
        super().__init__(name=f"bronze-writer-{result.table}", daemon=True)
        self.table, self.result, self.dag_id, self.run_id, self.log = table, result, dag_id, run_id, log
        self.erased = erased  # the erasure ledger: these subjects' records are blanked before they are written
        self.state = state  # as of the last commit
        self.queue: queue.Queue[Batch | object] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None

    def submit(self, batch: Batch) -> None:
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

    def abort(self) -> None:
        """After an error elsewhere: let it finish what it holds, commit nothing new."""
        if self.is_alive():
            self.error = self.error or IngestError("ingestion aborted")
            self.queue.put(self._DONE)
            self.join()

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        while True:
            batch = self.queue.get()
            if not isinstance(batch, Batch):  # the end marker
                return
            if self.error is not None:
                continue  # drain without committing anything after a failure
            try:
                self._commit(batch)
            except BaseException as exc:  # kept, and re-raised by the consuming thread (nothing later commits)
                self.error = exc

    def _commit(self, batch: Batch) -> None:
        from pyiceberg.exceptions import CommitFailedException

        state = self.state.advanced(batch.next)
        summary = batch.summary(state, self.dag_id, self.run_id)
        try:
            rows = batch.to_arrow(self.erased)
            self.table.append(rows, snapshot_properties=summary)
        except CommitFailedException as exc:
            raise IngestError(
                f"concurrent write to {self.result.table} detected; nothing from this batch was committed, "
                f"a retry resumes from the table's offsets ({exc})"
            ) from exc
        self.state = state
        result = self.result
        result.rows += len(batch)
        result.erased += len(batch) - rows.column("erased_by").null_count
        result.batches += 1
        result.next_offsets = dict(batch.next)
        committed = self.table.current_snapshot()
        assert committed is not None  # the append above committed one
        result.snapshot_ids.append(committed.snapshot_id)
        for p, (first, last) in batch.ranges().items():
            result.ranges.setdefault(p, [first, last])[1] = last
        self.log(f"{result.table}: committed {len(batch)} rows, offsets {summary[KAFKA_RANGES]}")
