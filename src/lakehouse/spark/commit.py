"""Attach snapshot-summary properties (lineage, Airflow run) to Spark SQL commits.

Iceberg 1.10 on Spark 3.5 has no session setting for this; its
``CommitMetadata.withCommitProperties`` takes a Java ``Callable``. PySpark's
pinned-thread py4j bridge runs our Python callback on the calling Java
thread, so any Iceberg commit made inside ``fn`` carries ``properties``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class _PyCallable:
    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.error: BaseException | None = None

    def call(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # surfaced on the Python side after the Java call returns
            self.error = exc
            raise
        return None

    class Java:
        implements = ["java.util.concurrent.Callable"]


def with_commit_properties(spark: SparkSession, properties: Mapping[str, str], fn: Callable[[], object]) -> None:
    from pyspark.java_gateway import ensure_callback_server_started

    gateway = spark.sparkContext._gateway
    if gateway is None:
        raise RuntimeError("the Spark session has no py4j gateway (stopped?)")
    ensure_callback_server_started(gateway)  # type: ignore[no-untyped-call]  # pyspark leaves it unannotated
    jprops = gateway.jvm.java.util.HashMap()
    for key, value in properties.items():
        jprops.put(str(key), str(value))
    callback = _PyCallable(fn)
    try:
        gateway.jvm.org.apache.iceberg.spark.CommitMetadata.withCommitProperties(
            jprops, callback, gateway.jvm.java.lang.Class.forName("java.lang.Exception")
        )
    except Exception:  # py4j wraps the Python callback's error: re-raise that one, else the JVM's
        if callback.error is not None:
            raise callback.error from None
        raise
