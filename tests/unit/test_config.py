from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.core.project import PROJECT_DIR_ENV, ProjectNotFoundError, find_project_dir

PROJECT_ROOT = find_project_dir()


def _project(root: Path) -> Path:
    for folder in ("dags", "spark_jobs", "contracts", "expectations"):
        (root / folder).mkdir(parents=True)
    return root


def test_the_project_is_found_from_the_env_the_working_directory_or_airflow_home(tmp_path):
    project, elsewhere = _project(tmp_path / "proj"), tmp_path / "elsewhere"
    (project / "dags" / "sub").mkdir()
    elsewhere.mkdir()
    assert find_project_dir({PROJECT_DIR_ENV: str(project)}, cwd=elsewhere, checkout=None) == project
    assert find_project_dir({}, cwd=project / "dags" / "sub", checkout=None) == project  # from a subdirectory
    airflow_home = {"AIRFLOW_HOME": str(project / ".state" / "airflow")}  # the embedded default's layout
    assert find_project_dir(airflow_home, cwd=elsewhere, checkout=None) == project
    assert find_project_dir({}, cwd=elsewhere) == PROJECT_ROOT  # an editable install: its checkout
    with pytest.raises(ProjectNotFoundError, match=PROJECT_DIR_ENV):
        find_project_dir({}, cwd=elsewhere, checkout=None)
    settings = Settings.from_env({PROJECT_DIR_ENV: str(project)})
    assert (settings.state_dir, settings.expectations_dir, settings.contracts_dir, settings.spark_jobs_dir) == (
        project / ".state", project / "expectations", project / "contracts", project / "spark_jobs")
    assert Settings.from_env({PROJECT_DIR_ENV: str(project), "LAKEHOUSE_STATE_DIR": "/s"}).state_dir == Path("/s")


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


def test_postgres_catalog_maps_to_jdbc_and_gets_its_password_from_its_own_variable():
    s = Settings.from_env({"LAKEHOUSE_CATALOG_URI": "postgresql+psycopg2://u@db:5432/lake",
                           "LAKEHOUSE_CATALOG_USER": "u", "LAKEHOUSE_CATALOG_PASSWORD": "p@ss/w:rd"})
    assert s.catalog_jdbc_uri == "jdbc:postgresql://db:5432/lake"
    assert not s.is_sqlite_catalog
    assert s.catalog_connect_uri() == "postgresql+psycopg2://u:p%40ss%2Fw%3Ard@db:5432/lake"  # driver only
    assert "p@ss" not in s.catalog_sqlalchemy_uri


@pytest.mark.parametrize("variable,url,belongs_in", [
    ("LAKEHOUSE_CATALOG_URI", "postgresql+psycopg2://u:secret@db:5432/lake", "LAKEHOUSE_CATALOG_PASSWORD"),
    ("LAKEHOUSE_REDIS_URL", "redis://:secret@redis:6379/0", "LAKEHOUSE_REDIS_PASSWORD"),
    ("LAKEHOUSE_AIRFLOW_DB_URI", "postgresql://a:secret@db/airflow", "LAKEHOUSE_AIRFLOW_DB_PASSWORD"),
])
def test_a_password_inside_a_url_is_refused_naming_its_own_variable(variable, url, belongs_in):
    with pytest.raises(ValueError, match=f"{variable} must not contain a password.*set {belongs_in}") as err:
        Settings.from_env({variable: url})
    assert "secret" not in str(err.value)


def test_printable_env_has_no_secret_and_the_secret_values_are_listed():
    s = Settings.from_env({"LAKEHOUSE_CATALOG_PASSWORD": "c-pw", "LAKEHOUSE_REDIS_PASSWORD": "r-pw",
                           "LAKEHOUSE_AIRFLOW_DB_PASSWORD": "a-pw"})
    assert sorted(s.secret_values()) == ["a-pw", "c-pw", "r-pw"]
    assert not set(s.secret_values()) & set(s.to_env(secrets=False).values())
    assert {"c-pw", "r-pw", "a-pw"} <= set(s.to_env().values())  # a child process still gets them


def test_to_env_round_trips():
    s = Settings.from_env({"LAKEHOUSE_STATE_DIR": "/tmp/y", "LAKEHOUSE_KAFKA_BOOTSTRAP": "h:1"})
    assert Settings.from_env(s.to_env()) == s


def test_secrets_never_show_in_repr():
    s = Settings.from_env({"LAKEHOUSE_CATALOG_PASSWORD": "hunter2-secret", "LAKEHOUSE_REDIS_PASSWORD": "r-secret",
                           "LAKEHOUSE_AIRFLOW_DB_PASSWORD": "a-secret"})
    assert s.catalog_password == "hunter2-secret"
    assert not any(secret in repr(s) for secret in s.secret_values())
