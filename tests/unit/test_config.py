from pathlib import Path

import pytest

from lakehouse.config import PROJECT_ROOT, Settings


def test_defaults_live_under_the_state_dir():
    s = Settings.from_env({})
    assert s.state_dir == PROJECT_ROOT / ".state"
    assert s.catalog_sqlalchemy_uri == f"sqlite:///{PROJECT_ROOT / '.state' / 'catalog' / 'lake.db'}"
    assert s.warehouse_uri == (PROJECT_ROOT / ".state" / "warehouse").as_uri()
    assert s.spark_master == "local[2]"


def test_env_overrides_every_field_type():
    s = Settings.from_env({
        "LAKEHOUSE_STATE_DIR": "/tmp/x",
        "LAKEHOUSE_KAFKA_BOOTSTRAP": "broker:9093",
        "LAKEHOUSE_KAFKA_PARTITIONS": "6",
        "LAKEHOUSE_REDIS_URL": "redis://cache:6380/1",
    })
    assert s.state_dir == Path("/tmp/x")
    assert (s.kafka_host, s.kafka_port, s.kafka_partitions) == ("broker", 9093, 6)
    assert (s.redis_host, s.redis_port) == ("cache", 6380)
    assert s.catalog_jdbc_uri == "jdbc:sqlite:/tmp/x/catalog/lake.db"


def test_bad_int_names_the_variable():
    with pytest.raises(ValueError, match="LAKEHOUSE_KAFKA_PARTITIONS"):
        Settings.from_env({"LAKEHOUSE_KAFKA_PARTITIONS": "three"})


def test_postgres_catalog_maps_to_jdbc_without_credentials_in_the_url():
    s = Settings.from_env({"LAKEHOUSE_CATALOG_URI": "postgresql+psycopg2://u:secret@db:5432/lake"})
    assert s.catalog_jdbc_uri == "jdbc:postgresql://db:5432/lake"
    assert "secret" not in s.catalog_jdbc_uri
    assert not s.is_sqlite_catalog


def test_to_env_round_trips():
    s = Settings.from_env({"LAKEHOUSE_STATE_DIR": "/tmp/y", "LAKEHOUSE_KAFKA_BOOTSTRAP": "h:1"})
    assert Settings.from_env(s.to_env()) == s


def test_secrets_never_show_in_repr():
    s = Settings.from_env({"LAKEHOUSE_CATALOG_PASSWORD": "hunter2-secret"})
    assert s.catalog_password == "hunter2-secret"
    assert "hunter2-secret" not in repr(s)
