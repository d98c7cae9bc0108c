"""The one Kafka client factory: every producer, consumer and admin client is built here."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings, get_settings
from lakehouse.core.names import TOPICS

if TYPE_CHECKING:  # confluent-kafka loads with the first client, not with this module
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

# librdkafka settings: strings, numbers and booleans, as librdkafka's own configuration takes them
ClientConfig = dict[str, Any]


def client_config(settings: Settings | None = None, **overrides: Any) -> ClientConfig:  # Any: librdkafka values
    settings = settings or get_settings()
    conf: ClientConfig = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        conf["sasl.mechanism"] = settings.kafka_sasl_mechanism
    if settings.kafka_username:
        conf.update({"sasl.username": settings.kafka_username, "sasl.password": settings.kafka_password})
    conf.update(overrides)
    return conf


def producer(settings: Settings | None = None, **overrides: Any) -> Producer:  # Any: librdkafka values
    from confluent_kafka import Producer

    conf = client_config(
        settings,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "none",
            "message.max.bytes": 16 * 1024 * 1024,
        },
    )
    conf.update(overrides)
    return Producer(conf)


def consumer(group_id: str, settings: Settings | None = None, **overrides: Any) -> Consumer:  # Any: librdkafka
    from confluent_kafka import Consumer

    conf = client_config(
        settings,
        **{
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        },
    )
    conf.update(overrides)
    return Consumer(conf)


def admin(settings: Settings | None = None, **overrides: Any) -> AdminClient:  # Any: librdkafka values
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(settings, **overrides))


def ensure_topics(settings: Settings | None = None, topics: Iterable[str] | None = None,
                  timeout: float = 30.0) -> list[str]:
    """Create the platform's topics if missing; returns the ones created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]  # re-exported at run time

    settings = settings or get_settings()
    client = admin(settings)
    wanted = list(topics or TOPICS.values())
    existing = set(client.list_topics(timeout=timeout).topics)
    missing = [t for t in wanted if t not in existing]
    if not missing:
        return []
    futures = client.create_topics(
        [NewTopic(t, num_partitions=settings.kafka_partitions, replication_factor=1) for t in missing],
        request_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as exc:  # already exists is fine (raced with another creator)
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"cannot create topic {topic}: {exc}") from exc
    return missing


def backlog(settings: Settings, topic: str, positions: dict[int, int], limit: int,
            timeout: float = 30.0) -> tuple[int, bool]:
    """Records on the broker from ``positions`` (next offset per partition; missing: the earliest) to the end
    of each partition: ``(count, exact)``; counting stops once it passes ``limit`` (then not exact).

    Counted by reading to librdkafka's end-of-partition event rather than from the high watermark, which
    tansu 0.6 reports wrongly for multi-record batches; bounded, so a large backlog costs ``limit`` records.
    """
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    client = consumer("lakehouse-backlog", settings, **{"enable.auto.offset.store": False})
    try:
        partitions = client.list_topics(topic, timeout=timeout).topics[topic].partitions
        client.assign([TopicPartition(topic, p, positions.get(p, OFFSET_BEGINNING)) for p in partitions])
        open_partitions, count = set(partitions), 0
        deadline = time.monotonic() + timeout
        while open_partitions and count <= limit:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: no end of partition {sorted(open_partitions)} within {timeout}s")
            for message in client.consume(1000, timeout=1.0):
                error = message.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(message.partition())
                elif error is not None:
                    raise RuntimeError(f"{topic}: {error}")
                else:
                    count += 1
        return count, not open_partitions
    finally:
        client.close()


def kcat_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment to run Debian's ``kcat`` against the embedded broker.

    Debian's kcat links librdkafka 2.0.2, whose ApiVersions request tansu 0.6
    cannot parse; the librdkafka 2.x bundled with confluent-kafka (same ABI)
    can, so kcat is pointed at it through LD_LIBRARY_PATH.
    """
    import os
    from pathlib import Path

    import confluent_kafka

    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    bundled = sorted(libs.glob("librdkafka*.so*"))
    env = dict(os.environ if base is None else base)
    if not bundled:
        return env
    link_dir = settings.run_dir / "librdkafka"
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / "librdkafka.so.1"
    if not link.exists() or link.resolve() != bundled[0].resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(bundled[0])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(link_dir), env.get("LD_LIBRARY_PATH", "")]))
    return env
