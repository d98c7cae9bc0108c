"""Kafka endpoint and client options from an Airflow connection."""

from __future__ import annotations

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from lakehouse.config import Settings


class KafkaConnectionHook(BaseHook):
    """Reads the ``kafka_default`` connection (conn type ``kafka``) if it exists.

    ``host:port`` or the extra ``bootstrap.servers`` give the brokers; extra
    ``security.protocol`` the protocol; any other dotted extra key (``sasl.*``,
    ``ssl.*`` …) is passed to librdkafka as is and never logged. Without the
    connection, the lakehouse settings (env) apply unchanged.
    """

    conn_name_attr = "kafka_conn_id"
    default_conn_name = "kafka_default"
    conn_type = "kafka"
    hook_name = "KOL Lakehouse Kafka"

    def __init__(self, kafka_conn_id: str = default_conn_name):
        super().__init__()
        self.kafka_conn_id = kafka_conn_id

    def resolve(self, base: Settings) -> tuple[Settings, dict]:
        """Settings with the connection's endpoint, plus librdkafka overrides (may hold secrets)."""
        try:
            conn = self.get_connection(self.kafka_conn_id)
        except AirflowNotFoundException:  # no such connection: the settings apply
            return base, {}
        extra = dict(conn.extra_dejson or {})
        bootstrap = extra.pop("bootstrap.servers", None)
        if not bootstrap and conn.host:
            bootstrap = f"{conn.host}:{conn.port}" if conn.port else conn.host
        protocol = extra.pop("security.protocol", base.kafka_security_protocol)
        if conn.login and "sasl.username" not in extra:
            extra["sasl.username"] = conn.login
        if conn.password and "sasl.password" not in extra:
            extra["sasl.password"] = conn.password
        overrides = {k: v for k, v in extra.items() if "." in k}
        settings = base.replace(kafka_bootstrap=bootstrap or base.kafka_bootstrap, kafka_security_protocol=protocol)
        self.log.info("kafka: using connection %s -> %s (%s)", self.kafka_conn_id, settings.kafka_bootstrap,
                      protocol)
        return settings, overrides
