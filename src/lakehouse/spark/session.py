"""The one Spark configuration and session factory of the platform.

``spark_conf``/``spark_jars`` feed both an in-process ``SparkSession`` (tests,
benchmarks) and ``spark-submit`` (Airflow's SparkSubmitOperator), so the
Iceberg ``lake`` catalog, WAP extensions and jars are defined once.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from lakehouse.config import Settings, get_settings
from lakehouse.core.names import CATALOG_NAME
from lakehouse.spark.class_archive import driver_java_options
from lakehouse.spark.jars import iceberg_jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CATALOG_PREFIX = f"spark.sql.catalog.{CATALOG_NAME}"


def spark_jars(settings: Settings) -> list[str]:
    jars = iceberg_jars(settings.jar_cache_dir)
    if not jars.exist():
        raise FileNotFoundError(
            f"Iceberg jars missing in {settings.jar_cache_dir}: run `make setup` (or `lakehouse setup`)"
        )
    driver = settings.sqlite_jdbc_jar if settings.is_sqlite_catalog else settings.postgres_jdbc_jar
    if not driver.is_file():
        raise FileNotFoundError(f"JDBC driver {driver} missing: run `make setup`")
    return [str(p) for p in (*jars.all(), driver)]


def driver_jvm_options(settings: Settings, *extra: str) -> str:
    """The driver JVM's flags: native libraries, the class-data archive, ``extra``, then the user's own
    (``LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS``, last so that they win)."""
    return " ".join(filter(None, (f"-Djava.library.path={settings.jni_dir}", driver_java_options(settings),
                                  *extra, settings.spark_driver_java_options)))


def spark_conf(settings: Settings, secrets: bool = True) -> dict[str, str]:
    """The Spark conf of the platform. ``secrets=False`` leaves the catalog password out: for spark-submit's
    command line (``ps`` shows it), where the driver reads it from its environment instead."""
    conf = {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        CATALOG_PREFIX: "org.apache.iceberg.spark.SparkCatalog",
        f"{CATALOG_PREFIX}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{CATALOG_PREFIX}.uri": settings.catalog_jdbc_uri,
        f"{CATALOG_PREFIX}.warehouse": settings.warehouse_uri,
        # pyiceberg commits to the same catalog: never serve a stale table from cache.
        f"{CATALOG_PREFIX}.cache-enabled": "false",
        f"{CATALOG_PREFIX}.jdbc.busy_timeout": "60000",
        # catalog tables are created once by `lakehouse setup` (pyiceberg); skipping the
        # JDBC metadata probe also avoids sqlite-jdbc leaking a read transaction.
        f"{CATALOG_PREFIX}.jdbc.init-catalog-tables": "false",
        "spark.sql.defaultCatalog": CATALOG_NAME,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraJavaOptions": driver_jvm_options(settings),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
        # small results to the driver (a metrics sample) as Arrow batches, not pickled rows
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if settings.catalog_user:
        conf[f"{CATALOG_PREFIX}.jdbc.user"] = settings.catalog_user
    if settings.catalog_password and secrets:
        conf[f"{CATALOG_PREFIX}.jdbc.password"] = settings.catalog_password
    if settings.spark_master.startswith("spark://"):  # standalone cluster: executors in their own JVMs
        conf.update({"spark.executor.memory": settings.spark_executor_memory, "spark.executor.cores": "1"})
    if settings.s3_endpoint:
        conf.update({
            f"{CATALOG_PREFIX}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            f"{CATALOG_PREFIX}.s3.endpoint": settings.s3_endpoint,
            f"{CATALOG_PREFIX}.s3.path-style-access": "true",
        })
    return conf


def get_session(app_name: str, settings: Settings | None = None) -> SparkSession:
    """Return the process's SparkSession, creating it with the lakehouse configuration.

    Under spark-submit the launcher has already applied master, jars and driver
    options; in-process we apply them ourselves.
    """
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    builder = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit
        # Python workers (pandas UDFs) must run this interpreter, whatever PATH says.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(settings.spark_master).config("spark.jars", ",".join(spark_jars(settings)))
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
