"""How a WAP Spark job is started, decided from the rows it will read (snapshot summaries, no Spark).

A spark-submit JVM lives for one task. On a small input most of its time is the
JIT compiling code that runs a few thousand rows; C1 alone (``-XX:TieredStopAtLevel=1``)
compiles cheaply and quickly, and ``make bench transform`` measured the 10,000-profile
lake's increment at 93 s with it against 120 s without. On a big input the
optimizing C2 compiler pays for itself (the 1M-profile lake's audit, which reads
every Bronze payload: 224 s with C1 only, 117 s without). So each job is sized:
the builders by the Bronze increment they process, the audit and training by
the lake they read whole.
"""

from __future__ import annotations

from lakehouse.config import Settings
from lakehouse.core.entities import entities
from lakehouse.iceberg.bookkeeping import total_rows
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import table_or_none
from lakehouse.spark.launch import Submission, submission

# jobs whose work follows the Bronze increment (new Silver rows, the KOLs they touch); the rest read whole tables
INCREMENTAL_JOBS = ("bronze_to_silver", "silver_to_gold")


def pending_rows(full_rebuild: bool = False) -> int:
    """Bronze rows Silver's ``main`` has not processed yet (all of Bronze on a full rebuild)."""
    from lakehouse.etl.silver import plan_increment

    return sum(plan_increment(entity, None, full_rebuild).expected_rows for entity in entities().values())


def lake_rows(settings: Settings) -> int:
    """Rows in Bronze's ``main`` across topics: what a whole-table job reads at least once."""
    catalog = get_catalog(settings)
    tables = [table_or_none(catalog, e.bronze_table) for e in entities().values()]
    return sum(total_rows(t) for t in tables if t is not None and t.current_snapshot() is not None)


def input_rows(settings: Settings, job: str, full_rebuild: bool = False) -> int:
    return pending_rows(full_rebuild) if job in INCREMENTAL_JOBS else lake_rows(settings)


def sized_submission(settings: Settings, job: str, full_rebuild: bool = False) -> tuple[Submission, dict]:
    """The job's submission, with the C1-only JIT when its input is small; and what decided it."""
    rows = input_rows(settings, job, full_rebuild)
    small = rows <= settings.spark_small_input_rows
    return submission(settings, job, small_input=small), {"input_rows": rows, "small_input": small}
