"""Every endpoint and path of the platform, in one settings object.

Embedded defaults live under a gitignored state dir; each field can be
overridden by the environment variable named in its metadata. Nothing else
in the project hard-codes a host, port or path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lakehouse.core.contracts import CONTRACTS_DIR_ENV
from lakehouse.core.names import BASELINE_SEASONS
from lakehouse.core.project import PROJECT_DIR_ENV, find_project_dir
from lakehouse.core.review import WARN_POLICIES


def spark_home() -> Path:
    """pyspark's Spark home, found without importing pyspark: its ``bin`` runs the cluster's daemons, and
    spark-submit puts its ``conf`` and ``jars`` on every driver JVM's classpath."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyspark is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def _env(name: str, default: Any, doc: str) -> Any:
    """A setting read from the environment variable ``name``; ``doc`` is its line in the settings reference."""
    return field(default=default, metadata={"env": name, "doc": doc})


def _project_path(name: str, relative: str, doc: str) -> Any:
    """A path setting whose default is ``relative`` under the project directory, found when the settings are
    built (:func:`~lakehouse.core.project.find_project_dir`), never at import."""
    return field(default_factory=lambda: find_project_dir() / relative,
                 metadata={"env": name, "doc": doc, "under_project": relative})


def _secret_env(name: str, doc: str) -> Any:
    """A secret setting (default empty): never in repr(), so never in logs, and marked in the reference."""
    return field(default="", metadata={"env": name, "doc": doc, "secret": True}, repr=False)


def _under_state_dir(name: str, doc: str) -> property:
    return property(lambda self: self.state_dir / name, doc=f"``<state dir>/{name}``: {doc}")


def _under_project_dir(name: str, doc: str) -> property:
    return property(lambda self: self.project_dir / name, doc=f"``<project>/{name}``: {doc}")


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Build with :meth:`from_env`; derive variants with :meth:`replace`."""

    project_dir: Path = _project_path(PROJECT_DIR_ENV, "", "The project: its `dags/`, `spark_jobs/`, `contracts/`, "
                                      "`expectations/` and `plugins/` (default: found from the working directory, "
                                      "else `AIRFLOW_HOME`, else the source checkout).")
    state_dir: Path = _project_path("LAKEHOUSE_STATE_DIR", ".state", "Everything the embedded default keeps: "
                                    "catalog, warehouse, reports, logs, Airflow home.")
    kafka_bootstrap: str = _env("LAKEHOUSE_KAFKA_BOOTSTRAP", "127.0.0.1:19092",
                                "Kafka bootstrap servers (in Airflow, the `kafka_default` connection wins).")
    kafka_security_protocol: str = _env("LAKEHOUSE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT",
                                        "librdkafka `security.protocol`, e.g. `SASL_SSL`.")
    kafka_sasl_mechanism: str = _env("LAKEHOUSE_KAFKA_SASL_MECHANISM", "",
                                     "SASL mechanism, e.g. `SCRAM-SHA-512` (empty: no SASL).")
    kafka_username: str = _env("LAKEHOUSE_KAFKA_USERNAME", "",
                               "SASL user (in Airflow, the `kafka_default` connection's login).")
    kafka_password: str = _secret_env("LAKEHOUSE_KAFKA_PASSWORD", "SASL password (or the connection's password).")
    kafka_partitions: int = _env("LAKEHOUSE_KAFKA_PARTITIONS", 3,
                                 "Partitions per raw topic (created by `lakehouse up`; checked by `health.topic.*`).")
    kafka_connect_timeout: float = _env("LAKEHOUSE_KAFKA_CONNECT_TIMEOUT", 15.0,
                                        "Seconds to wait for the broker (metadata, stalled partitions) before "
                                        "failing the task.")
    redis_url: str = _env("LAKEHOUSE_REDIS_URL", "redis://127.0.0.1:16379/0",
                          "The Redis hot path and the WAP lease; never with a password in it.")
    redis_username: str = _env("LAKEHOUSE_REDIS_USERNAME", "", "A Redis ACL user (empty: the default user).")
    redis_password: str = _secret_env("LAKEHOUSE_REDIS_PASSWORD", "Redis password.")
    erasure_salt: str = _secret_env("LAKEHOUSE_ERASURE_SALT",
                                    "Salt of the erasure ledger's subject hashes (empty: one generated under "
                                    "`<state dir>/erasure/salt` on first use; keep it, or erased subjects "
                                    "are no longer recognised).")
    serving_list_size: int = _env("LAKEHOUSE_SERVING_LIST_SIZE", 1000,
                                  "KOLs in the dashboard's JSON list per platform (the rest are paged from "
                                  "the sorted sets).")
    score_refit_fraction: float = _env("LAKEHOUSE_SCORE_REFIT_FRACTION", 0.05,
                                       "Incremental Gold refits the score scale once this share of KOLs "
                                       "changed since it was fitted.")
    catalog_uri: str = _env("LAKEHOUSE_CATALOG_URI", "",
                            "SQLAlchemy URL of the Iceberg catalog database, without a password (empty: SQLite "
                            "under the state dir); Spark's JDBC URL is derived from it.")
    catalog_user: str = _env("LAKEHOUSE_CATALOG_USER", "", "Catalog database user.")
    catalog_password: str = _secret_env("LAKEHOUSE_CATALOG_PASSWORD",
                                        "Catalog database password (or the `iceberg_catalog` connection's).")
    warehouse: str = _env("LAKEHOUSE_WAREHOUSE", "",
                          "Warehouse URI (empty: `<state dir>/warehouse`; `s3://...` on the full stack).")
    s3_endpoint: str = _env("LAKEHOUSE_S3_ENDPOINT", "", "S3 endpoint of the warehouse (MinIO on the full stack).")
    spark_master: str = _env("LAKEHOUSE_SPARK_MASTER", "local[2]", "Spark master of the jobs.")
    cluster_workers: int = _env("LAKEHOUSE_CLUSTER_WORKERS", 0,
                                "Cluster profile: `lakehouse up` also starts PostgreSQL (catalog and Airflow DB) "
                                "and a Spark standalone master with this many workers (0: the embedded default).")
    spark_master_ui_url: str = _env("LAKEHOUSE_SPARK_MASTER_UI_URL", "",
                                    "The standalone master's UI, read by `health.spark_workers`.")
    spark_worker_memory: str = _env("LAKEHOUSE_SPARK_WORKER_MEMORY", "2g", "Memory of each cluster-profile worker.")
    spark_executor_memory: str = _env("LAKEHOUSE_SPARK_EXECUTOR_MEMORY", "1g", "Executor memory on a cluster.")
    airflow_db_uri: str = _env("LAKEHOUSE_AIRFLOW_DB_URI", "",
                               "Airflow's metadata DB as a SQLAlchemy URL without a password (empty: SQLite "
                               "under the state dir).")
    airflow_db_password: str = _secret_env("LAKEHOUSE_AIRFLOW_DB_PASSWORD", "Airflow metadata DB password.")
    openlineage_url: str = _env("LAKEHOUSE_OPENLINEAGE_URL", "",
                                "OpenLineage HTTP endpoint, e.g. Marquez `http://marquez:5000` (empty: "
                                "`<state dir>/lineage/openlineage.jsonl`).")
    trino_url: str = _env("LAKEHOUSE_TRINO_URL", "",
                          "Trino, e.g. `http://trino:8080` (empty: `gold.trino_matches_spark` SKIPs).")
    spark_shuffle_partitions: int = _env("LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS", 4, "`spark.sql.shuffle.partitions`.")
    spark_driver_memory: str = _env("LAKEHOUSE_SPARK_DRIVER_MEMORY", "4g", "Driver memory of every Spark job.")
    spark_driver_java_options: str = _env("LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS", "",
                                          "Extra JVM flags for the driver (in local mode also the executor).")
    spark_small_input_rows: int = _env("LAKEHOUSE_SPARK_SMALL_INPUT_ROWS", 500_000,
                                       "A submitted job reading at most this many rows runs with the C1-only JIT.")
    expectations_dir: Path = _project_path("LAKEHOUSE_EXPECTATIONS_DIR", "expectations",
                                           "Where suite files live (`<layer>/<table>.json`).")
    contracts_dir: Path = _project_path(CONTRACTS_DIR_ENV, "contracts", "Where the data contracts live "
                                        "(`<topic>.json`), read when an entity is first used.")
    freshness_max_age_hours: float = _env("LAKEHOUSE_FRESHNESS_MAX_AGE_HOURS", 26.0,
                                          "`freshness.*` FAILs when a table's newest commit is older.")
    volume_mad_k: float = _env("LAKEHOUSE_VOLUME_MAD_K", 3.0, "`volume.*` WARNs outside median ± k·MAD.")
    volume_window: int = _env("LAKEHOUSE_VOLUME_WINDOW", 14,
                              "Comparable runs in a volume or column-metric baseline.")
    metrics_mad_k: float = _env("LAKEHOUSE_METRICS_MAD_K", 4.0, "`metrics.*` WARNs outside median ± k·MAD.")
    metrics_sample_rows: int = _env("LAKEHOUSE_METRICS_SAMPLE_ROWS", 20_000,
                                    "Distinct ratios and p50/p95 are exact on a batch of at most this many rows, "
                                    "else measured on a uniform sample of this size; 0 turns column metrics off.")
    baseline_season: str = _env("LAKEHOUSE_BASELINE_SEASON", "",
                                "Anomaly baselines compare only runs of the same `weekday`, `hour` or "
                                "`weekday_hour` (empty: all runs).")
    contract_max_share: float = _env("LAKEHOUSE_CONTRACT_MAX_SHARE", 0.05,
                                     "A required field missing, or a field retyped, in more than this share of a "
                                     "run's records of a topic FAILs the audit.")
    score_move_points: float = _env("LAKEHOUSE_SCORE_MOVE_POINTS", 10.0,
                                    "The score guard counts KOLs whose final score moved more than this.")
    score_move_max_share: float = _env("LAKEHOUSE_SCORE_MOVE_MAX_SHARE", 0.2,
                                       "The score guard WARNs when more than this share of updated KOLs moved.")
    health_max_lag: int = _env("LAKEHOUSE_HEALTH_MAX_LAG", 100_000,
                               "`health.consumer_lag.*` WARNs above this many records not yet in Bronze.")
    health_min_free_gb: float = _env("LAKEHOUSE_HEALTH_MIN_FREE_GB", 2.0, "Free space the warehouse needs.")
    health_min_redis_headroom: float = _env("LAKEHOUSE_HEALTH_MIN_REDIS_HEADROOM", 0.2,
                                            "Share of Redis memory that must stay free.")
    task_timeout_minutes: float = _env("LAKEHOUSE_TASK_TIMEOUT_MINUTES", 120.0,
                                       "Every task's `execution_timeout` (a hung job never blocks a DAG forever).")
    dagrun_timeout_hours: float = _env("LAKEHOUSE_DAGRUN_TIMEOUT_HOURS", 6.0,
                                       "Every DAG run's timeout, and the WAP lease's time-to-live.")
    warn_policy: str = _env("LAKEHOUSE_WARN_POLICY", "publish",
                            "A WAP audit that WARNed (the Param `warn_policy`'s default): `publish` it, `block` the "
                            "publish, or `review` (wait for an Approve in the Airflow UI).")
    review_timeout_minutes: float = _env("LAKEHOUSE_REVIEW_TIMEOUT_MINUTES", 240.0,
                                         "Under `review`, no answer this long fails the run (Param "
                                         "`review_timeout_minutes`'s default); the run holds the WAP lease "
                                         "meanwhile.")
    alert_emails: str = _env("LAKEHOUSE_ALERT_EMAILS", "",
                             "Comma-separated recipients of gate and deadline alerts (through `smtp_default`).")
    alert_from: str = _env("LAKEHOUSE_ALERT_FROM", "kol-lakehouse@localhost", "Sender of alert mails.")
    alert_slack_conn_id: str = _env("LAKEHOUSE_ALERT_SLACK_CONN_ID", "",
                                    "Airflow connection id of a Slack incoming webhook (empty: no Slack alerts).")
    nightly_deadline_minutes: float = _env("LAKEHOUSE_NIGHTLY_DEADLINE_MINUTES", 120.0,
                                           "The nightly alerts when a run has not finished this long after it "
                                           "was queued.")
    snapshot_retention_hours: float = _env("LAKEHOUSE_SNAPSHOT_RETENTION_HOURS", 72.0,
                                           "Maintenance expires snapshots older than this...")
    snapshot_retain_last: int = _env("LAKEHOUSE_SNAPSHOT_RETAIN_LAST", 20, "...but keeps this many per table.")
    branch_retention_hours: float = _env("LAKEHOUSE_BRANCH_RETENTION_HOURS", 168.0,
                                         "Audit branches older than this are dropped.")
    orphan_min_age_hours: float = _env("LAKEHOUSE_ORPHAN_MIN_AGE_HOURS", 72.0,
                                       "Unreferenced files are removed once older than this.")
    check_history_days: float = _env("LAKEHOUSE_CHECK_HISTORY_DAYS", 90.0,
                                     "`audit.check_results` and `audit.column_metrics` rows are kept this long.")
    report_retention_days: float = _env("LAKEHOUSE_REPORT_RETENTION_DAYS", 30.0,
                                        "Run report files and rotated lineage files are kept this long.")
    jar_cache_dir: Path = _env("LAKEHOUSE_JAR_CACHE", Path.home() / ".cache" / "kol-lakehouse" / "jars",
                               "Where `make setup` builds the Iceberg jars and the drivers' class-data archive.")
    sqlite_jdbc_jar: Path = _env("LAKEHOUSE_SQLITE_JDBC_JAR", Path("/usr/share/java/sqlite-jdbc.jar"),
                                 "SQLite JDBC driver (Debian libxerial-sqlite-jdbc-java).")
    postgres_jdbc_jar: Path = _env("LAKEHOUSE_POSTGRES_JDBC_JAR", Path("/usr/share/java/postgresql.jar"),
                                   "PostgreSQL JDBC driver (Debian libpostgresql-jdbc-java).")
    jni_dir: Path = _env("LAKEHOUSE_JNI_DIR", Path("/usr/lib/x86_64-linux-gnu/jni"),
                         "Where the SQLite driver's native library is.")

    def __post_init__(self) -> None:
        for name in URL_FIELDS:
            refuse_embedded_password(getattr(self, name), name)
        if self.baseline_season not in BASELINE_SEASONS:
            raise ValueError(f"LAKEHOUSE_BASELINE_SEASON={self.baseline_season!r}: one of {BASELINE_SEASONS}")
        if self.warn_policy not in WARN_POLICIES:
            raise ValueError(f"LAKEHOUSE_WARN_POLICY={self.warn_policy!r}: one of {WARN_POLICIES}")

    # ---- construction -------------------------------------------------
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}  # each coerced to its field's type by _coerce
        for f in dataclasses.fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw, f.metadata["env"])
        project = values.get("project_dir") or find_project_dir(env)
        for f in dataclasses.fields(cls):
            if "under_project" in f.metadata and f.name not in values:
                values[f.name] = project / f.metadata["under_project"]
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:  # Any: each field's own type, checked by the dataclass
        return dataclasses.replace(self, **changes)

    def to_env(self, secrets: bool = True) -> dict[str, str]:
        """The env vars that reproduce these settings in a child process (Spark, Airflow).

        ``secrets=False``: without the password variables, for anything printed or written down.
        """
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value not in ("", None) and (secrets or f.repr):
                out[f.metadata["env"]] = str(value)
        return out

    def secret_values(self) -> list[str]:
        """The secrets these settings hold (to check that no output shows them)."""
        return [getattr(self, f.name) for f in dataclasses.fields(self) if not f.repr and getattr(self, f.name)]

    @property
    def alert_recipients(self) -> list[str]:
        return [address.strip() for address in self.alert_emails.split(",") if address.strip()]

    # ---- derived locations ----------------------------------------------
    dags_dir = _under_project_dir("dags", "the DAG files")
    plugins_dir = _under_project_dir("plugins", "Airflow plugins")
    spark_jobs_dir = _under_project_dir("spark_jobs", "the scripts spark-submit runs")
    run_dir = _under_state_dir("run", "pid files of the embedded services")
    log_dir = _under_state_dir("logs", "service and demo logs")
    reports_dir = _under_state_dir("reports", "readiness reports, GX results and Data Docs")
    airflow_home = _under_state_dir("airflow", "AIRFLOW_HOME of the embedded default")
    lineage_dir = _under_state_dir("lineage", "OpenLineage events (file transport)")
    erasure_dir = _under_state_dir("erasure", "the generated erasure salt (when `LAKEHOUSE_ERASURE_SALT` is unset)")

    @property
    def catalog_sqlalchemy_uri(self) -> str:
        """The catalog database, without credentials (safe to print)."""
        return self.catalog_uri or f"sqlite:///{self.state_dir / 'catalog' / 'lake.db'}"

    def catalog_connect_uri(self) -> str:
        """The catalog URL with user and password, for the SQLAlchemy engine only: never print it."""
        return with_credentials(self.catalog_sqlalchemy_uri, self.catalog_user, self.catalog_password)

    @property
    def airflow_db_sqlalchemy_uri(self) -> str:
        """Airflow's metadata DB, without credentials (safe to print)."""
        return self.airflow_db_uri or f"sqlite:///{self.airflow_home / 'airflow.db'}"

    def airflow_db_connect_uri(self) -> str:
        """Airflow's metadata DB URL with its password, for Airflow's own process env only: never print it."""
        return with_credentials(self.airflow_db_sqlalchemy_uri, "", self.airflow_db_password)

    @property
    def is_cluster(self) -> bool:
        return self.cluster_workers > 0

    @property
    def warehouse_uri(self) -> str:
        return self.warehouse or (self.state_dir / "warehouse").as_uri()

    @property
    def catalog_jdbc_uri(self) -> str:
        """The same catalog database as a JDBC URL for Spark's JdbcCatalog."""
        uri = self.catalog_sqlalchemy_uri
        scheme, _, rest = uri.partition("://")
        dialect = scheme.split("+")[0]
        if dialect == "sqlite":
            return f"jdbc:sqlite:{rest[1:]}"  # sqlite:///PATH -> PATH
        if dialect in ("postgresql", "postgres"):
            parts = urlsplit(uri)
            port = f":{parts.port}" if parts.port else ""
            return f"jdbc:postgresql://{parts.hostname}{port}{parts.path}"
        raise ValueError(f"unsupported catalog database {dialect!r} in LAKEHOUSE_CATALOG_URI")

    @property
    def is_sqlite_catalog(self) -> bool:
        return self.catalog_sqlalchemy_uri.startswith("sqlite")

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def kafka_host(self) -> str:
        return self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0]

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url).port or 6379

    @property
    def redis_host(self) -> str:
        return urlsplit(self.redis_url).hostname or "127.0.0.1"

    def ensure_dirs(self) -> None:
        for d in (self.state_dir, self.run_dir, self.log_dir, self.reports_dir, self.airflow_home, self.lineage_dir):
            d.mkdir(parents=True, exist_ok=True)
        if self.is_sqlite_catalog:
            Path(self.catalog_sqlalchemy_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if self.warehouse_uri.startswith("file:"):
            Path(urlsplit(self.warehouse_uri).path).mkdir(parents=True, exist_ok=True)


URL_FIELDS = ("catalog_uri", "redis_url", "airflow_db_uri", "trino_url", "s3_endpoint", "spark_master_ui_url",
              "openlineage_url")
PASSWORD_VARIABLES = {"catalog_uri": "LAKEHOUSE_CATALOG_PASSWORD", "redis_url": "LAKEHOUSE_REDIS_PASSWORD",
                      "airflow_db_uri": "LAKEHOUSE_AIRFLOW_DB_PASSWORD"}


def refuse_embedded_password(url: str, field_name: str) -> None:
    """A URL that carries a password would be printed with it (logs, `lakehouse setup`, reports): refuse it,
    naming the variable the password belongs in."""
    if "://" in url and urlsplit(url).password:
        env_name = next(f.metadata["env"] for f in dataclasses.fields(Settings) if f.name == field_name)
        where = PASSWORD_VARIABLES.get(field_name, "an Airflow connection")
        raise ValueError(f"{env_name} must not contain a password (it would be printed with the URL): "
                         f"remove it and set {where} instead")


def with_credentials(url: str, user: str, password: str) -> str:
    """``url`` with ``user`` (if given) and ``password`` (if given) set: the string handed to a driver."""
    if not (user or password) or url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parsed = parsed.set(username=user or parsed.username, password=password or None)
    return parsed.render_as_string(hide_password=False)


def _coerce(type_name: str | type, raw: str, env_name: str) -> str | int | float | Path:
    type_name = type_name if isinstance(type_name, str) else type_name.__name__
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "Path":
            return Path(raw).expanduser()
    except ValueError as exc:
        raise ValueError(f"{env_name}={raw!r}: {exc}") from exc
    return raw


def get_settings() -> Settings:
    """Settings for the current process environment (cheap; re-read on every call)."""
    return Settings.from_env()
