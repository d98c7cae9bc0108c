"""Endpoints and credentials from Airflow connections: Kafka (``kafka_default``) and the Iceberg catalog
(``iceberg_catalog``). Without the connection, the lakehouse settings (env) apply unchanged."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from lakehouse.config import Settings, get_settings

if TYPE_CHECKING:
    from airflow.sdk import Connection

# librdkafka options a connection may set: who we are and how we authenticate, and timeouts. Anything else
# (plugin.library.paths, auto.offset.reset, enable.idempotence, isolation.level ...) could load code or
# break exactly-once, so it is refused.
KAFKA_EXTRA_PREFIXES = ("sasl.", "ssl.")
KAFKA_EXTRA_KEYS = frozenset({
    "bootstrap.servers", "security.protocol", "client.id", "client.dns.lookup",
    "socket.timeout.ms", "socket.connection.setup.timeout.ms", "request.timeout.ms", "session.timeout.ms",
    "metadata.max.age.ms", "reconnect.backoff.ms", "reconnect.backoff.max.ms", "retry.backoff.ms",
    "api.version.request.timeout.ms", "transaction.timeout.ms",
})


class ForbiddenConnectionExtra(ValueError):
    """A connection extra that the platform refuses to pass on."""


def allowed_kafka_extra(extra: dict, conn_id: str) -> dict:
    """``extra`` if every key is on the allow-list (security, SASL, SSL, client id, timeouts); else refuse,
    naming the key, rather than silently drop it or let it override the exactly-once settings."""
    refused = sorted(k for k in extra if k not in KAFKA_EXTRA_KEYS and not k.startswith(KAFKA_EXTRA_PREFIXES))
    if refused:
        raise ForbiddenConnectionExtra(
            f"connection {conn_id!r}: extra key(s) {', '.join(refused)} not allowed; a connection may set "
            f"security, SASL (sasl.*), SSL (ssl.*), client id and timeouts only")
    return extra


class OptionalConnectionHook(BaseHook):
    """A hook whose connection is optional: without it, the lakehouse settings (env) apply unchanged."""

    conn_name_attr = "conn_id"

    def __init__(self, conn_id: str | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name

    def connection_or_none(self) -> Connection | None:
        try:
            return self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            return None


class KafkaConnectionHook(OptionalConnectionHook):
    """Reads the ``kafka_default`` connection (conn type ``kafka``) if it exists.

    ``host:port`` or the extra ``bootstrap.servers`` give the brokers; extra
    ``security.protocol`` the protocol; login/password become the SASL user; the
    other extras must be on :data:`KAFKA_EXTRA_KEYS` or start ``sasl.``/``ssl.``,
    and are passed to librdkafka as is and never logged.
    """

    default_conn_name = "kafka_default"
    conn_type = "kafka"
    hook_name = "KOL Lakehouse Kafka"

    def resolve(self, base: Settings) -> tuple[Settings, dict]:
        """Settings with the connection's endpoint, plus librdkafka overrides (may hold secrets)."""
        conn = self.connection_or_none()
        if conn is None:
            return base, {}
        extra = allowed_kafka_extra(dict(conn.extra_dejson or {}), self.conn_id)
        bootstrap = extra.pop("bootstrap.servers", None)
        if not bootstrap and conn.host:
            bootstrap = f"{conn.host}:{conn.port}" if conn.port else conn.host
        protocol = extra.pop("security.protocol", base.kafka_security_protocol)
        if conn.login and "sasl.username" not in extra:
            extra["sasl.username"] = conn.login
        if conn.password and "sasl.password" not in extra:
            extra["sasl.password"] = conn.password
        settings = base.replace(kafka_bootstrap=bootstrap or base.kafka_bootstrap, kafka_security_protocol=protocol)
        self.log.info("kafka: using connection %s -> %s (%s)", self.conn_id, settings.kafka_bootstrap, protocol)
        return settings, extra


class IcebergCatalogHook(OptionalConnectionHook):
    """Reads the ``iceberg_catalog`` connection (a PostgreSQL connection: host, port, schema = database,
    login, password; extra ``driver``, default ``postgresql+psycopg2``) if it exists.

    The password stays a separate setting: the catalog URI that may be printed never holds it.
    """

    default_conn_name = "iceberg_catalog"
    conn_type = "postgres"
    hook_name = "KOL Lakehouse Iceberg catalog"

    def resolve(self, base: Settings) -> Settings:
        conn = self.connection_or_none()
        if conn is None:
            return base
        driver = (conn.extra_dejson or {}).get("driver", "postgresql+psycopg2")
        port = f":{conn.port}" if conn.port else ""
        user = f"{conn.login}@" if conn.login else ""
        settings = base.replace(catalog_uri=f"{driver}://{user}{conn.host}{port}/{conn.schema}",
                                catalog_user=conn.login or "", catalog_password=conn.password or "")
        self.log.info("iceberg catalog: using connection %s -> %s", self.conn_id, settings.catalog_sqlalchemy_uri)
        return settings


def apply_connections() -> Settings:
    """The task's settings with the ``iceberg_catalog`` connection applied, exported to this task process's
    environment so that the domain code (and a spark-submit it starts) sees the same catalog."""
    settings = IcebergCatalogHook().resolve(get_settings())
    os.environ.update({k: v for k, v in settings.to_env().items() if k.startswith("LAKEHOUSE_CATALOG_")})
    return settings
