"""The per-phase timing a Spark job returns with its result, and the class-data archive's driver option."""

import itertools

import pytest

from lakehouse.config import Settings
from lakehouse.spark import class_archive
from lakehouse.spark.phases import Profile
from lakehouse.spark.session import spark_conf


def test_phases_sum_their_repeats_and_nest_by_name(monkeypatch):
    from lakehouse.spark import phases as module

    ticks = itertools.count()  # a clock that moves one second per reading: every figure below is exact
    monkeypatch.setattr(module.time, "perf_counter", lambda: float(next(ticks)))
    profile = Profile()
    for _ in range(3):
        with profile.phase("silver"), profile.phase("silver.merge"):
            pass
    phases = profile.to_dict()
    assert phases["silver"]["calls"] == 3 and phases["silver.merge"]["calls"] == 3
    assert phases["silver.merge"]["seconds"] == 3.0  # read at its start and end: 1 s a call
    assert phases["silver"]["seconds"] == 9.0  # its own start and end around the inner phase's two readings
    assert phases["silver"]["spark_jobs"] == 0  # no SparkContext in this process


def test_a_phase_that_raises_is_still_recorded():
    profile = Profile()
    with pytest.raises(ValueError, match="breach"), profile.phase("audit"):
        raise ValueError("breach")
    assert profile.to_dict()["audit"]["calls"] == 1


def test_the_driver_gets_the_archive_only_when_it_exists_for_this_jdk(tmp_path, monkeypatch):
    settings = Settings.from_env().replace(jar_cache_dir=tmp_path)
    path = class_archive.archive_path(settings)
    assert path is not None and path.parent == tmp_path and path.suffix == ".jsa"
    assert "SharedArchiveFile" not in spark_conf(settings)["spark.driver.extraJavaOptions"]
    path.write_bytes(b"")
    options = spark_conf(settings)["spark.driver.extraJavaOptions"]
    assert f"-XX:SharedArchiveFile={path}" in options and options.startswith("-Djava.library.path=")
    monkeypatch.setattr(class_archive, "java_binary", lambda: None)  # no JDK: no archive, no option
    assert class_archive.archive_path(settings) is None and class_archive.driver_java_options(settings) == ""


def test_the_archive_key_follows_each_classpath_jar_as_the_jvm_checks_it(tmp_path):
    """A pyspark reinstalled in place (same version, jars rewritten) makes the JVM refuse the archive: the key
    changes with it, so the driver is never pointed at an archive the JVM drops without a word."""
    import os

    settings = Settings.from_env().replace(jar_cache_dir=tmp_path / "cache")
    (tmp_path / "jars").mkdir()
    jar = tmp_path / "jars" / "spark-core.jar"
    jar.write_bytes(b"classes")
    os.utime(jar, (1_000, 1_000))
    first = class_archive.archive_path(settings, home=tmp_path)
    assert class_archive.archive_path(settings, home=tmp_path) == first  # stable while nothing changes
    os.utime(jar, (2_000, 2_000))
    touched = class_archive.archive_path(settings, home=tmp_path)
    jar.write_bytes(b"classes, rebuilt")
    os.utime(jar, (2_000, 2_000))
    assert len({first, touched, class_archive.archive_path(settings, home=tmp_path)}) == 3


def test_archives_of_other_jdks_and_virtualenvs_are_pruned_to_the_newest(tmp_path):
    import os

    for i in range(5):
        archive = tmp_path / f"spark-driver-{i:016x}.jsa"
        archive.write_bytes(b"")
        os.utime(archive, (1_000 + i, 1_000 + i))
    removed = class_archive.prune_archives(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == ["spark-driver-0000000000000000.jsa", "spark-driver-0000000000000001.jsa"]
    assert len(list(tmp_path.glob("*.jsa"))) == 3


def test_the_small_input_jit_comes_before_the_users_own_options(tmp_path):
    from lakehouse.spark.launch import SMALL_INPUT_JIT, submission

    settings = Settings.from_env().replace(spark_driver_java_options="-XX:TieredStopAtLevel=4")
    small = submission(settings, "bronze_to_silver", small_input=True).conf["spark.driver.extraJavaOptions"]
    assert small.index(SMALL_INPUT_JIT) < small.index("-XX:TieredStopAtLevel=4")  # the JVM takes the last
    big = submission(settings, "bronze_to_silver").conf["spark.driver.extraJavaOptions"]
    assert SMALL_INPUT_JIT not in big and big.endswith("-XX:TieredStopAtLevel=4")
    assert "spark.sql.catalog.lake.jdbc.password" not in small  # the command line stays secret-free
