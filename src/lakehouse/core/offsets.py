"""The consumer position a Bronze commit records: what ingest writes and every reader of Bronze agrees on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from lakehouse.core.names import KAFKA_FIRST_OFFSETS, KAFKA_NEXT_OFFSETS, KAFKA_SOURCE


@dataclass(frozen=True)
class BronzeState:
    """The consumer position the newest Bronze commit recorded, cumulative since the table began.

    ``first``/``next``: per partition, the first offset of the current epoch and the
    next one to consume; every offset in between is exactly one row of the epoch.
    ``epoch`` counts deliberate re-baselines onto a new broker log; ``rows_before``
    are the rows of earlier epochs. So the table holds ``rows()`` rows, always.
    """

    first: dict[int, int] = field(default_factory=dict)
    next: dict[int, int] = field(default_factory=dict)
    epoch: int = 0
    cluster_id: str = ""
    topic_id: str = ""
    rows_before: int = 0

    def rows(self) -> int:
        return self.rows_before + sum(self.next[p] - self.first.get(p, self.next[p]) for p in self.next)

    def advanced(self, next_offsets: dict[int, int]) -> BronzeState:
        """The state after consuming up to ``next_offsets`` (first offsets unchanged: set when a run starts)."""
        return replace(self, next=dict(next_offsets))

    def to_summary(self) -> dict[str, str]:
        return {
            KAFKA_FIRST_OFFSETS: json.dumps({str(p): o for p, o in sorted(self.first.items())}),
            KAFKA_NEXT_OFFSETS: json.dumps({str(p): o for p, o in sorted(self.next.items())}),
            KAFKA_SOURCE: json.dumps({"epoch": self.epoch, "cluster-id": self.cluster_id,
                                      "topic-id": self.topic_id, "rows-before": self.rows_before}),
        }

    @classmethod
    def from_summary(cls, props: dict[str, str]) -> BronzeState:
        nxt = {int(p): int(o) for p, o in json.loads(props.get(KAFKA_NEXT_OFFSETS, "{}")).items()}
        first = {int(p): int(o) for p, o in json.loads(props.get(KAFKA_FIRST_OFFSETS, "{}")).items()}
        source = json.loads(props.get(KAFKA_SOURCE, "{}"))
        return cls(first=first, next=nxt, epoch=int(source.get("epoch", 0)),
                   cluster_id=source.get("cluster-id", ""), topic_id=source.get("topic-id", ""),
                   rows_before=int(source.get("rows-before", 0)))
