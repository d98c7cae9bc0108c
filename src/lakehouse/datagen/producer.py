"""Push a synthetic dataset to the raw topics (the test plan's ``import_json_to_kafka``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lakehouse.config import Settings
from lakehouse.datagen.generator import Record
from lakehouse.kafka import producer

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message


class ProduceError(RuntimeError):
    pass


def produce_records(records: Iterable[Record], settings: Settings, timeout: float = 120.0) -> dict[str, int]:
    """Produce every record (idempotent producer, acks=all); returns delivered counts per topic.

    Raises if any delivery failed or did not complete within ``timeout``.
    """
    client = producer(settings)
    delivered: Counter = Counter()
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            delivered[msg.topic()] += 1
        elif len(failures) < 20:
            failures.append(f"{msg.topic()}: {err}")

    for sent, record in enumerate(records, 1):
        while True:
            try:
                client.produce(record.topic, value=record.value, key=record.key, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                client.poll(0.5)
        if sent % 5000 == 0:
            client.poll(0)
    remaining = client.flush(timeout)
    if failures or remaining:
        raise ProduceError(
            f"{remaining} message(s) undelivered after {timeout:.0f}s; failures: {failures or 'none'}"
        )
    return dict(delivered)
