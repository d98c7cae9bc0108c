"""The checks that read the lake with Spark: counts and accounting, lineage, and every expectation suite.

One runner for both callers: the WAP audit reads the run's branch (``branch``)
before publishing, the nightly run reads ``main`` (``branch=None``). ``layers``
and ``tables`` narrow what is checked (the nightly DAG's Params).
"""

from __future__ import annotations

import json

from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE
from lakehouse.etl.tables import TOTALS, newest_property
from lakehouse.etl.wap import WAP_TABLES, effective_ref, read_as_of
from lakehouse.quality import lineage
from lakehouse.quality.counts import gold_check, silver_checks
from lakehouse.quality.results import CheckResult, Status, compare

LAYERS = ("bronze", "silver", "gold")
BRONZE_TABLES = tuple(e.bronze_table for e in ENTITIES.values())
CHECKED_TABLES = BRONZE_TABLES + WAP_TABLES
KEY_COLUMNS = {
    **{e.bronze_table: ("kafka_partition", "kafka_offset") for e in ENTITIES.values()},
    **{e.silver_table: e.key for e in ENTITIES.values()},
    QUARANTINE_TABLE: ("source_table", "kafka_partition", "kafka_offset"),
    GOLD_SUMMARY_TABLE: ("platform", "kol_id"),
}


def selected(table: str, layers=LAYERS, tables=None) -> bool:
    return table.split(".", 1)[0] in layers and (not tables or table in tables)


def lake_checks(spark, branch: str | None = None, *, layers=LAYERS, tables=None, suites: dict | None = None,
                runner=None) -> list[CheckResult]:
    """Every Spark-side check of the selected layers/tables, read as of ``branch`` (else ``main``).

    ``suites``: ``{table: path}`` (default: discovered in the expectations dir).
    ``runner``: a :class:`~lakehouse.quality.suites.SuiteRunner` (default: one that stores nothing).
    """
    from lakehouse.catalog import get_catalog
    from lakehouse.quality.suites import SuiteRunner, discover, load_suite

    catalog = get_catalog()
    exists = {t: spark.catalog.tableExists(f"lake.{t}") for t in CHECKED_TABLES}
    results: list[CheckResult] = []
    silver_rows = {}
    for name, entity in ENTITIES.items():
        if "bronze" in layers and selected(entity.bronze_table, layers, tables) and exists[entity.bronze_table]:
            results.append(lineage.bronze_offsets_contiguous(spark, entity))
        if "silver" not in layers or not selected(entity.silver_table, layers, tables):
            continue
        if not exists[entity.silver_table]:
            results.append(CheckResult(f"silver_exists.{name}", "silver", entity.silver_table, Status.FAIL,
                                       details="table missing: bronze_to_silver did not run"))
            continue
        silver_meta = catalog.load_table(entity.silver_table)
        head = silver_meta.refs()[effective_ref(spark, entity.silver_table, branch)]
        totals = json.loads(newest_property(silver_meta, head.snapshot_id, TOTALS) or "{}")
        bronze_sid = lineage.upstream_of(catalog, entity.silver_table, head.snapshot_id).get(entity.bronze_table)
        bronze = spark.read.option("snapshot-id", bronze_sid).table(f"lake.{entity.bronze_table}")
        bronze_rows = bronze.count()
        silver_rows[name] = rows = read_as_of(spark, entity.silver_table, branch).count()
        quarantined = (read_as_of(spark, QUARANTINE_TABLE, branch)
                       .where(f"source_table = '{entity.bronze_table}'").count())
        results += silver_checks(name, entity.silver_table, bronze_rows=bronze_rows,
                                 bronze_keys=bronze.select("kafka_key").distinct().count(),
                                 silver_rows=rows, duplicates=int(totals.get("duplicates", 0)),
                                 quarantined=quarantined, detail=f" (snapshot {bronze_sid})")
        results.append(lineage.silver_covers_bronze(entity, totals, bronze_rows, bronze_sid))
        if branch is None:  # on main: has every Bronze commit reached Silver yet?
            results.append(lineage.silver_up_to_date(catalog, entity, bronze_sid))
    if "gold" in layers and selected(GOLD_SUMMARY_TABLE, layers, tables) and exists[GOLD_SUMMARY_TABLE]:
        gold_df = read_as_of(spark, GOLD_SUMMARY_TABLE, branch)
        silver_kols = silver_rows.get("profiles")
        if silver_kols is None and exists[ENTITIES["profiles"].silver_table]:
            silver_kols = read_as_of(spark, ENTITIES["profiles"].silver_table, branch).count()
        results.append(gold_check(gold_df.count(), silver_kols or 0))
        results += trending_distribution(gold_df)
        results += lineage.gold_from_current_silver(spark, catalog, branch)
        results.append(lineage.gold_rows_trace_to_bronze(spark, catalog, branch))
    available = discover() if suites is None else suites
    runner = runner or SuiteRunner()
    for table, path in available.items():  # any table with a suite file, including ones added later
        if not selected(table, layers, tables):
            continue
        layer = table.split(".", 1)[0]
        if not (exists[table] if table in exists else spark.catalog.tableExists(f"lake.{table}")):
            results.append(CheckResult(f"suite.{table}", layer, table, Status.FAIL,
                                       details=f"suite {path} names a table that does not exist"))
            continue
        df = read_as_of(spark, table, branch) if table in WAP_TABLES else spark.table(f"lake.{table}")
        results += runner.validate(df, table, load_suite(path), layer=layer, key_columns=KEY_COLUMNS.get(table, ()))
    return results


def trending_distribution(gold_df) -> list[CheckResult]:
    """The test plan's scoring check per platform: >= 80 % distinct trending scores, range > 10 points."""
    from pyspark.sql import functions as F

    rows = gold_df.groupBy("platform").agg(
        F.count("*").alias("n"), F.countDistinct("trending_score").alias("distinct"),
        (F.max("trending_score") - F.min("trending_score")).alias("spread"),
    ).collect()
    out = []
    for r in rows:
        out.append(compare(f"gold.trending_distinct.{r.platform}", "gold", GOLD_SUMMARY_TABLE,
                           round(r.distinct / r.n, 4), 0.8, op=">=", details=f"{r.distinct} of {r.n} KOLs"))
        out.append(CheckResult(f"gold.trending_range.{r.platform}", "gold", GOLD_SUMMARY_TABLE,
                               Status.PASS if (r.spread or 0) > 10 else Status.FAIL, r.spread, "> 10"))
    return out
