"""A class-data-sharing archive for the Spark driver JVM: a task's fixed start-up cost, cut.

Every Spark task is a new ``spark-submit`` JVM, and on 2 cores it spends ~7 s
loading and verifying Spark's classes before the first query returns (``make
bench transform`` shows the breakdown). JDK 17's dynamic CDS archive
(``-XX:ArchiveClassesAtExit``, then ``-XX:SharedArchiveFile``) maps those
classes pre-parsed instead: ``lakehouse setup`` records one from a warm-up job
that touches what the jobs touch (the Iceberg catalog, MERGE, branches,
joins, windows), and :func:`driver_java_options` adds it to every driver.

The archive is only valid for the JDK and the Spark classpath it was recorded
with — the JVM refuses it when any jar on the classpath differs in size or
modification time, as after a reinstall of the same pyspark — so its file name
carries a key of the JDK, the virtualenv and every classpath jar's size and
time. After such a change the name differs, the option is left out, and the
driver starts uncached until ``make setup`` records the archive again; never
pointed at an archive the JVM would drop. (``-Xshare:auto``, the JVM default,
drops an unusable archive silently: a driver pointed at a stale one lost the
cut without a word. :func:`maps` asks the JVM with ``-Xshare:on`` instead.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from lakehouse.config import Settings, spark_home


def java_binary() -> Path | None:
    """The ``java`` spark-class runs: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else (Path(p) if (p := shutil.which("java")) else None)
    return found.resolve() if found is not None and found.exists() else None


def driver_classpath(home: Path | None = None) -> str:
    """The driver JVM's own classpath, as spark-submit builds it (the job's ``--jars`` load later, apart)."""
    home = home or spark_home()
    return f"{home / 'conf'}/{os.pathsep}{home / 'jars'}/*"


def archive_path(settings: Settings, home: Path | None = None) -> Path | None:
    """Where the archive for this JDK, this virtualenv and these classpath jars lives (None without a JDK).

    The key takes in what the JVM checks before it maps the archive: each classpath jar's size and
    modification time (seconds)."""
    java = java_binary()
    if java is None:
        return None
    key = hashlib.sha256(f"{java}:{java.stat().st_mtime_ns}:{sys.prefix}:{version('pyspark')}".encode())
    for jar in sorted(((home or spark_home()) / "jars").glob("*.jar")):
        stat = jar.stat()
        key.update(f":{jar.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return settings.jar_cache_dir / f"spark-driver-{key.hexdigest()[:16]}.jsa"


def maps(archive: Path, classpath: str | None = None) -> bool:
    """Does the JVM map ``archive`` for ``classpath`` (the driver's)? With ``-Xshare:on`` it refuses to start
    otherwise, where a driver's ``-Xshare:auto`` would start uncached without a word (~0.2 s to ask)."""
    java = java_binary()
    if java is None or not archive.is_file():
        return False
    done = subprocess.run([str(java), "-Xshare:on", f"-XX:SharedArchiveFile={archive}", "-Xlog:disable",
                           "-cp", classpath or driver_classpath(), "-version"], capture_output=True)
    return done.returncode == 0


def driver_java_options(settings: Settings) -> str:
    """``-XX:SharedArchiveFile=...`` when the archive for this JDK and classpath exists, else nothing."""
    path = archive_path(settings)
    return f"-XX:SharedArchiveFile={path} -Xlog:cds=off -Xlog:cds+dynamic=off" if path and path.is_file() else ""


def record_archive(settings: Settings, log: Callable[[str], object] = print) -> Path | None:
    """Run the warm-up job with ``-XX:ArchiveClassesAtExit`` and keep the archive; an archive the JVM maps is
    kept as it is, one it refuses (a JDK updated in place) is recorded again."""
    from lakehouse.spark.launch import submission

    path = archive_path(settings)
    if path is None or maps(path):
        return path
    with tempfile.TemporaryDirectory(prefix="kol-cds-") as tmp:
        launch = submission(settings.replace(state_dir=Path(tmp) / "state"), "warm_up")
        partial = Path(tmp) / path.name
        options = f"{launch.conf['spark.driver.extraJavaOptions']} -XX:ArchiveClassesAtExit={partial}"
        launch = replace(launch, conf={**launch.conf, "spark.driver.extraJavaOptions": options})
        done = subprocess.run(launch.command(settings.spark_master, []), env={**os.environ, **launch.env},
                              capture_output=True, text=True)
        if done.returncode != 0 or not partial.is_file():
            log(f"spark: class-data archive not recorded (drivers start uncached): {done.stderr[-1500:]}")
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    log(f"spark: driver class-data archive {path} ({path.stat().st_size // 2**20} MiB)")
    prune_archives(path.parent)
    return path


KEEP_ARCHIVES = 3  # one per JDK/virtualenv in use (a checkout and its CI clone share the cache); ~150 MiB each


def prune_archives(cache_dir: Path, keep: int = KEEP_ARCHIVES) -> list[Path]:
    """Delete all but the ``keep`` newest archives; a driver whose archive is gone starts uncached."""
    archives = sorted(cache_dir.glob("spark-driver-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[keep:]:
        old.unlink(missing_ok=True)
    return archives[keep:]


def warm_up() -> None:
    """What the jobs do, in small: load classes for catalog, DDL, MERGE, branches, reads, joins, windows."""
    from lakehouse.config import get_settings
    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.spark.session import get_session
    from lakehouse.spark.tables import create_table_like, ensure_branch, writing_to

    settings = get_settings()
    init_catalog(settings)
    spark = get_session("warm-up", settings)
    name, t = "audit.cds_warm_up", "lake.audit.cds_warm_up"
    rows = spark.range(200).selectExpr("CAST(id % 50 AS STRING) AS k", "id AS v", "current_timestamp() AS at")
    create_table_like(spark, name, rows)
    rows.writeTo(t).append()
    ensure_branch(spark, name, "b")
    rows.where("v < 100").selectExpr("k", "v * 2 AS v", "at").createOrReplaceTempView("updates")
    with writing_to(spark, "b"):
        spark.sql(f"MERGE INTO {t} t USING updates s ON t.k = s.k AND t.v = s.v "
                  "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
    spark.sql(f"CALL lake.system.fast_forward('{name}', 'main', 'b')").collect()
    spark.sql(f"SELECT k, count(*) AS n, approx_percentile(v, 0.5) AS p, max(at) FROM {t} GROUP BY k").collect()
    spark.sql(f"SELECT k, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS r FROM {t}").where("r = 1").count()
    spark.table(t).join(spark.table(t).select("k").distinct(), "k", "left_semi").count()
    spark.read.option("branch", "b").table(t).agg({"v": "sum"}).collect()
    spark.stop()
