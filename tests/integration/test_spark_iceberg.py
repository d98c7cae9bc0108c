"""Spark (JdbcCatalog) and pyiceberg (SqlCatalog) see one and the same `lake` catalog."""

import os

import pyarrow as pa
import pytest

from lakehouse.iceberg.catalog import get_catalog

pytestmark = pytest.mark.integration


def test_spark_writes_pyiceberg_reads_and_back(lake, spark_session):
    spark = spark_session
    spark.sql("CREATE TABLE lake.silver.interop (id BIGINT, name STRING) USING iceberg")
    spark.sql("INSERT INTO lake.silver.interop VALUES (1, 'a'), (2, 'b')")
    spark_snapshot = spark.sql("SELECT snapshot_id FROM lake.silver.interop.refs WHERE name='main'").first()[0]

    table = get_catalog(lake).load_table("silver.interop")
    assert table.current_snapshot().snapshot_id == spark_snapshot
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "name": "a"}, {"id": 2, "name": "b"}]

    table.append(pa.table({"id": pa.array([3], pa.int64()), "name": ["c"]}),
                 snapshot_properties={"lineage.test": "pyiceberg"})
    assert spark.table("lake.silver.interop").count() == 3
    prop = spark.sql("SELECT summary['lineage.test'] FROM lake.silver.interop.snapshots "
                     "ORDER BY committed_at DESC LIMIT 1").first()[0]
    assert prop == "pyiceberg"


def test_wap_branch_publish_leaves_main_untouched_until_fast_forward(lake, spark_session):
    spark = spark_session
    spark.sql("CREATE TABLE lake.gold.wap (id BIGINT) USING iceberg TBLPROPERTIES ('write.wap.enabled'='true')")
    spark.sql("INSERT INTO lake.gold.wap VALUES (1)")
    main_before = get_catalog(lake).load_table("gold.wap").current_snapshot().snapshot_id
    spark.sql("ALTER TABLE lake.gold.wap CREATE BRANCH audit_run1")
    spark.conf.set("spark.wap.branch", "audit_run1")
    try:
        spark.sql("INSERT INTO lake.gold.wap VALUES (2)")
    finally:
        spark.conf.unset("spark.wap.branch")
    assert get_catalog(lake).load_table("gold.wap").current_snapshot().snapshot_id == main_before
    assert spark.sql("SELECT count(*) FROM lake.gold.wap VERSION AS OF 'audit_run1'").first()[0] == 2
    spark.sql("CALL lake.system.fast_forward('gold.wap', 'main', 'audit_run1')")
    assert spark.table("lake.gold.wap").count() == 2


def test_the_driver_maps_the_class_data_archive_setup_recorded(lake, spark_session):
    """`make setup` records the driver's CDS archive; every session (and spark-submit) then starts with it."""
    from lakehouse.spark.class_archive import archive_path, maps

    archive = archive_path(lake)
    assert archive is not None and archive.is_file(), "make setup did not record the class-data archive"
    jvm = spark_session.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={archive}" in arguments
    # the JVM maps it for the driver's classpath (java.vm.info says "sharing" for the JDK's own archive alone)
    assert maps(archive)


def test_an_archive_the_jvm_would_drop_is_told_apart(tmp_path):
    """``maps`` asks the JVM itself: an archive recorded over a jar that changed since is refused."""
    import shutil
    import subprocess

    from lakehouse.config import spark_home
    from lakehouse.spark.class_archive import java_binary, maps

    jar = next((spark_home() / "jars").glob("compress-lzf-*.jar"))  # a small jar with a main class
    shutil.copy(jar, tmp_path / jar.name)
    archive, classpath = tmp_path / "small.jsa", str(tmp_path / jar.name)
    subprocess.run([str(java_binary()), f"-XX:ArchiveClassesAtExit={archive}", "-Xlog:disable", "-cp", classpath,
                    "com.ning.compress.lzf.LZF"], capture_output=True, check=False)  # prints its usage, exits 1
    assert maps(archive, classpath)
    os.utime(tmp_path / jar.name, (1_000, 1_000))  # the jar rewritten, as by a reinstall
    assert not maps(archive, classpath)
    assert not maps(tmp_path / "missing.jsa", classpath)


def test_a_phase_counts_the_spark_jobs_it_launched(lake, spark_session):
    from lakehouse.spark.phases import Profile

    profile = Profile()
    with profile.phase("two_actions"):
        spark_session.range(10).count()
        spark_session.range(10).collect()
    with profile.phase("no_action"):
        spark_session.range(10).selectExpr("id * 2")
    phases = profile.to_dict()
    assert phases["two_actions"]["spark_jobs"] >= 2 and phases["no_action"]["spark_jobs"] == 0
