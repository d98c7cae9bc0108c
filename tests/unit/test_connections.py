"""Airflow connections become settings: the Kafka extras allow-list and the ``iceberg_catalog`` connection."""

import json
import os

import pytest

from lakehouse.config import Settings
from lakehouse.orchestration.hooks import (
    ForbiddenConnectionExtra,
    IcebergCatalogHook,
    KafkaConnectionHook,
    allowed_kafka_extra,
)


@pytest.mark.parametrize("key", ["plugin.library.paths", "auto.offset.reset", "enable.idempotence",
                                 "isolation.level", "group.id", "enable.auto.commit", "interceptors"])
def test_a_kafka_extra_off_the_allow_list_is_refused_by_name(key):
    with pytest.raises(ForbiddenConnectionExtra, match=f"'kafka_default': extra key\\(s\\) {key} not allowed"):
        allowed_kafka_extra({"security.protocol": "SASL_SSL", key: "x"}, "kafka_default")


def test_security_sasl_ssl_client_id_and_timeouts_pass():
    extra = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u",
             "ssl.ca.location": "/etc/ca.pem", "client.id": "kol", "socket.timeout.ms": 30000,
             "bootstrap.servers": "b:9093"}
    assert allowed_kafka_extra(extra, "kafka_default") == extra


def test_kafka_connection_gives_endpoint_and_sasl_user(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_DEFAULT", json.dumps({
        "conn_type": "kafka", "login": "lake", "password": "k-secret",
        "extra": {"bootstrap.servers": "b1:9093,b2:9093", "security.protocol": "SASL_SSL",
                  "sasl.mechanism": "SCRAM-SHA-512"}}))
    settings, overrides = KafkaConnectionHook().resolve(Settings())
    assert settings.kafka_bootstrap == "b1:9093,b2:9093" and settings.kafka_security_protocol == "SASL_SSL"
    assert overrides == {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "lake", "sasl.password": "k-secret"}


def test_kafka_connection_that_overrides_exactly_once_fails_the_task(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_DEFAULT", json.dumps({
        "conn_type": "kafka", "extra": {"bootstrap.servers": "b:9092", "auto.offset.reset": "latest"}}))
    with pytest.raises(ForbiddenConnectionExtra, match="auto.offset.reset"):
        KafkaConnectionHook().resolve(Settings())


def test_iceberg_catalog_connection_sets_uri_user_and_password_apart(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ICEBERG_CATALOG", json.dumps({
        "conn_type": "postgres", "host": "pg", "port": 5433, "schema": "iceberg", "login": "lake",
        "password": "cat-secret"}))
    settings = IcebergCatalogHook().resolve(Settings())
    assert settings.catalog_sqlalchemy_uri == "postgresql+psycopg2://lake@pg:5433/iceberg"
    assert settings.catalog_password == "cat-secret" and "cat-secret" not in repr(settings)
    assert settings.catalog_jdbc_uri == "jdbc:postgresql://pg:5433/iceberg"


def test_without_the_connections_the_settings_apply_unchanged(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_ICEBERG_CATALOG", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_KAFKA_DEFAULT", raising=False)
    base = Settings(kafka_bootstrap="h:1")
    assert IcebergCatalogHook().resolve(base) == base
    assert KafkaConnectionHook().resolve(base) == (base, {})


def test_sasl_settings_reach_every_kafka_client_and_stay_out_of_repr():
    from lakehouse.kafka import client_config

    settings = Settings.from_env({"LAKEHOUSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                  "LAKEHOUSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                                  "LAKEHOUSE_KAFKA_USERNAME": "lake", "LAKEHOUSE_KAFKA_PASSWORD": "k-secret"})
    conf = client_config(settings)
    assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (conf["sasl.username"], conf["sasl.password"]) == ("lake", "k-secret")
    assert "k-secret" not in repr(settings) and "k-secret" in settings.secret_values()


def test_a_port_handed_to_one_process_is_not_handed_to_another(monkeypatch, tmp_path):
    from lakehouse.services import manager

    monkeypatch.setattr(manager, "PORT_CLAIMS", tmp_path)
    offered = iter([41001, 41001, 41002])  # the OS offers the same port twice (two workers racing)
    monkeypatch.setattr(manager, "_unbound_port", lambda host: next(offered))
    assert [manager.free_port(), manager.free_port()] == [41001, 41002]
    (tmp_path / "41003").touch()
    old = manager.time.time() - manager.CLAIM_SECONDS - 1
    os.utime(tmp_path / "41003", (old, old))  # a claim that lapsed is taken over
    monkeypatch.setattr(manager, "_unbound_port", lambda host: 41003)
    assert manager.free_port() == 41003
