"""The one Kafka client factory: every producer, consumer and admin client is built here."""

from __future__ import annotations

from lakehouse.config import TOPICS, Settings, get_settings


def client_config(settings: Settings | None = None, **overrides) -> dict:
    settings = settings or get_settings()
    conf = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": settings.kafka_security_protocol,
    }
    conf.update(overrides)
    return conf


def producer(settings: Settings | None = None, **overrides):
    from confluent_kafka import Producer

    conf = client_config(
        settings,
        **{"enable.idempotence": True, "acks": "all", "linger.ms": 20, "compression.type": "none"},
    )
    conf.update(overrides)
    return Producer(conf)


def consumer(group_id: str, settings: Settings | None = None, **overrides):
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


def admin(settings: Settings | None = None, **overrides):
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(settings, **overrides))


def ensure_topics(settings: Settings | None = None, topics=None, timeout: float = 30.0) -> list[str]:
    """Create the platform's topics if missing; returns the ones created."""
    from confluent_kafka.admin import NewTopic

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
        except Exception as exc:  # already exists is fine (raced with another creator)
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"cannot create topic {topic}: {exc}") from exc
    return missing
