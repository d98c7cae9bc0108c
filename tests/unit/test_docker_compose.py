"""docker-compose.yml cannot run here (no Docker engine): check its structure and that it wires the same settings."""

import json
import re
from pathlib import Path

import pytest
import yaml

from lakehouse.config import Settings
from lakehouse.core.project import find_project_dir

PROJECT_ROOT = find_project_dir()

TEXT = (PROJECT_ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SERVICES = COMPOSE["services"]
SECRET_VARS = ("ICEBERG_DB_PASSWORD", "AIRFLOW_DB_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` (the last fails when VAR is unset)."""
    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""
    return re.sub(r"\$\{([A-Z_]+)(?:(:[-?])([^}]*))?\}", one, value)


def service_env(name: str, env: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), env) for k, v in SERVICES[name].get("environment", {}).items()}


FAKE_SECRETS = {name: f"{name.lower()}-value" for name in SECRET_VARS}


def test_full_stack_services_are_all_there():
    assert {"postgres", "kafka", "minio", "redis", "spark-master", "spark-worker", "trino",
            "airflow-init", "airflow-scheduler", "airflow-dag-processor", "airflow-api-server"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_mounts_and_builds_exist(name):
    service = SERVICES[name]
    deps = service.get("depends_on", [])
    for dep in deps if isinstance(deps, list) else deps.keys():
        assert dep in SERVICES, f"{name} depends on unknown {dep}"
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (PROJECT_ROOT / source).exists(), f"{name} mounts missing {source}"
        elif not source.startswith(("$", "/", ".")):
            assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    if "build" in service:
        assert (PROJECT_ROOT / service["build"]["dockerfile"]).is_file()


def test_airflow_gets_the_same_settings_object_only_with_other_values():
    env = service_env("airflow-scheduler", FAKE_SECRETS)
    lakehouse_vars = {k for k in env if k.startswith("LAKEHOUSE_")}
    known = {f.metadata["env"] for f in Settings.__dataclass_fields__.values()}
    assert lakehouse_vars <= known, f"unknown settings: {lakehouse_vars - known}"
    settings = Settings.from_env(env)
    assert settings.catalog_jdbc_uri == "jdbc:postgresql://postgres:5432/iceberg"
    assert settings.kafka_bootstrap == "kafka:9092" and settings.spark_master == "spark://spark-master:7077"
    assert json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])["host"] == settings.spark_master
    kafka_conn = json.loads(env["AIRFLOW_CONN_KAFKA_DEFAULT"])
    assert kafka_conn["extra"]["bootstrap.servers"] == settings.kafka_bootstrap


def test_no_secret_is_hard_coded_or_defaulted_and_an_unset_one_stops_compose():
    for word in ("PASSWORD:", "SECRET_ACCESS_KEY:", "ACCESS_KEY_ID:"):
        for line in (ln for ln in TEXT.splitlines() if word in ln and not ln.strip().startswith("#")):
            assert "${" in line, f"hard-coded secret: {line.strip()}"
    for name in SECRET_VARS:
        uses = re.findall(r"\$\{" + name + r"(:[-?]?)?", TEXT)
        assert uses and all(op == ":?" for op in uses), f"{name}: {uses} (must be ${{{name}:?...}}, no default)"
    missing = {k: v for k, v in FAKE_SECRETS.items() if k != "REDIS_PASSWORD"}
    with pytest.raises(KeyError, match="REDIS_PASSWORD: set REDIS_PASSWORD in .env"):
        service_env("airflow-scheduler", missing)


def test_env_file_is_never_committed_and_its_example_names_every_secret():
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().split()
    example = dict(line.split("=", 1) for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(example) == set(SECRET_VARS) and not any(example.values())


def test_ports_are_published_on_localhost_only_and_redis_requires_its_password():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    redis = SERVICES["redis"]
    assert "requirepass" in " ".join(redis["command"]) and "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
    assert "7077" not in " ".join(map(str, SERVICES["spark-master"].get("ports", [])))


def test_compose_sets_what_the_cluster_profile_proved():
    """The settings the cluster profile ran with (tests/e2e/test_cluster_profile.py), by variable: compose
    gives every one of them to Airflow and the catalog/Spark ones to the Spark worker, in the same form."""
    from lakehouse.services.cluster import cluster_profile

    profile = cluster_profile(Settings(state_dir=Path("/nonexistent")), catalog_password="c",
                              airflow_db_password="a", redis_password="r")
    embedded_only = {"LAKEHOUSE_STATE_DIR", "LAKEHOUSE_CLUSTER_WORKERS", "LAKEHOUSE_REDIS_USERNAME"}
    proved = {k for k, v in profile.to_env().items()
              if v != Settings(state_dir=Path("/nonexistent")).to_env().get(k)} - embedded_only
    airflow = service_env("airflow-scheduler", FAKE_SECRETS)
    assert proved <= set(airflow), f"compose lacks {proved - set(airflow)}"
    compose_settings = Settings.from_env(airflow)
    for name in ("catalog_uri", "airflow_db_uri"):  # same driver, user in the URL, password beside it
        assert getattr(compose_settings, name).split("://")[0] == getattr(profile, name).split("://")[0]
    assert compose_settings.catalog_connect_uri().startswith("postgresql+psycopg2://iceberg:icebe")
    assert compose_settings.redis_password == FAKE_SECRETS["REDIS_PASSWORD"]
    assert compose_settings.spark_master.startswith("spark://")
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"] == "lakehouse airflow-db-url"
    worker = service_env("spark-worker", FAKE_SECRETS)
    for key in ("LAKEHOUSE_CATALOG_URI", "LAKEHOUSE_CATALOG_PASSWORD", "LAKEHOUSE_SPARK_MASTER"):
        assert worker[key] == airflow[key]


def test_trino_reads_the_same_catalog_with_its_password_from_the_environment():
    props = dict(line.split("=", 1) for line in (PROJECT_ROOT / "docker/trino/lake.properties").read_text()
                 .splitlines() if "=" in line and not line.startswith("#"))
    settings = Settings.from_env(service_env("airflow-scheduler", FAKE_SECRETS))
    assert props["iceberg.jdbc-catalog.connection-url"] == settings.catalog_jdbc_uri
    assert props["iceberg.jdbc-catalog.connection-user"] == settings.catalog_user
    assert props["iceberg.jdbc-catalog.connection-password"] == "${ENV:ICEBERG_DB_PASSWORD}"
    assert props["iceberg.jdbc-catalog.catalog-name"] == "lake"
