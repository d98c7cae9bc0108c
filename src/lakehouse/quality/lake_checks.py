"""The checks that read the lake with Spark: counts and accounting, lineage, and every expectation suite.

One runner for both callers: the WAP audit reads the run's branch (``branch``)
before publishing, the nightly run reads ``main`` (``branch=None``). ``layers``
and ``tables`` narrow what is checked (the nightly DAG's Params).
:func:`run_lake_checks` is the recipe both share: suites stored with their
Data Docs, every result recorded in ``audit.check_results``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings
from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.entities import Entity, entities
from lakehouse.core.errors import MissingUpstreamError
from lakehouse.core.names import (
    BRONZE_TABLES,
    GOLD_SUMMARY_TABLE,
    QUARANTINE_TABLE,
    TOTALS,
    WAP_TABLES,
    layer_of,
)
from lakehouse.core.scoring import MIN_DISTINCT, TOP_LIST_SIZE, ranking_checks
from lakehouse.etl.parse import business_keys
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import newest_json
from lakehouse.quality import lineage
from lakehouse.quality.branch_diff import diff_checks
from lakehouse.quality.column_metrics import metric_checks, record_metrics
from lakehouse.quality.contracts import contract_checks, schema_checks
from lakehouse.quality.counts import gold_check, silver_checks
from lakehouse.quality.store import record
from lakehouse.quality.suites import SuiteError, SuiteRunner, discover, load_suite, suite_of
from lakehouse.quality.trino import trino_matches_spark
from lakehouse.spark.phases import phase
from lakehouse.spark.tables import (
    cached_frames,
    qualified,
    read_as_of,
    read_change,
    read_snapshot,
    run_snapshot_id,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

LAYERS = ("bronze", "silver", "gold")
# What names an offending row: its key and, where the row came from one record, its Kafka coordinates.
KAFKA_COORDINATES = ("kafka_partition", "kafka_offset")
@cache
def key_columns() -> dict[str, tuple[str, ...]]:
    """What names an offending row of each table: its key and, where the row came from one record, its Kafka
    coordinates (from the contracts, read on first use)."""
    return {
        **{e.bronze_table: KAFKA_COORDINATES for e in entities().values()},
        **{e.silver_table: (*e.key, *KAFKA_COORDINATES) for e in entities().values()},
        QUARANTINE_TABLE: ("source_table", "kafka_partition", "kafka_offset"),
        GOLD_SUMMARY_TABLE: ("platform", "kol_id"),
    }


@cache
def diff_keys() -> dict[str, tuple[str, ...]]:
    """What identifies a row when a branch is compared with main (:mod:`lakehouse.quality.branch_diff`)."""
    keys = key_columns()
    return {**{e.silver_table: e.key for e in entities().values()}, QUARANTINE_TABLE: keys[QUARANTINE_TABLE],
            GOLD_SUMMARY_TABLE: keys[GOLD_SUMMARY_TABLE]}


def row_key(table: str) -> tuple[str, ...]:
    """What identifies one row of ``table``: its business key, else its Kafka coordinates (Bronze)."""
    return tuple(diff_keys().get(table) or key_columns().get(table, ()))


def selected(table: str, layers: Collection[str] = LAYERS, tables: Collection[str] | None = None) -> bool:
    return layer_of(table) in layers and (not tables or table in tables)


def run_lake_checks(spark: SparkSession, *, dag_id: str, run_id: str, source: str, branch: str | None = None,
                    layers: Collection[str] = LAYERS,
                    tables: Collection[str] | None = None) -> tuple[list[CheckResult], dict[str, str]]:
    """:func:`lake_checks` with GX results and Data Docs kept per run, recorded under ``source``; the
    column metrics the suites' pass measured, recorded in ``audit.column_metrics`` and judged against the
    DAG's earlier runs.

    Returns the results and ``{table: Data Docs page}``. Pass or fail, the results are recorded.
    """
    settings = get_settings()
    if not run_id:  # nothing to keep results under
        return lake_checks(spark, branch, layers=layers, tables=tables), {}
    runner = SuiteRunner(settings.reports_dir, f"{dag_id}__{run_id}", metrics_sample_rows=settings.metrics_sample_rows)
    results = lake_checks(spark, branch, layers=layers, tables=tables, runner=runner)
    with phase("checks.data_docs"):
        data_docs = runner.docs_pages()
    with phase("checks.record"):
        results += metric_checks(settings, dag_id=dag_id, run_id=run_id, metrics=runner.metrics)
        record(settings, dag_id=dag_id, run_id=run_id, source=source, results=results)
        record_metrics(settings, dag_id=dag_id, run_id=run_id, source=source, metrics=runner.metrics)
    return results, data_docs


def lake_checks(spark: SparkSession, branch: str | None = None, *, layers: Collection[str] = LAYERS,
                tables: Collection[str] | None = None, suites: dict[str, Path] | None = None,
                runner: SuiteRunner | None = None) -> list[CheckResult]:
    """Every Spark-side check of the selected layers/tables, read as of ``branch`` (else ``main``).

    ``suites``: ``{table: path}`` (default: discovered in the expectations dir).
    ``runner``: a :class:`~lakehouse.quality.suites.SuiteRunner` (default: one that stores nothing).
    """
    exists = {t: spark.catalog.tableExists(qualified(t)) for t in (*BRONZE_TABLES.values(), *WAP_TABLES)}
    results: list[CheckResult] = []
    silver_rows = {}
    for name, entity in entities().items():
        if selected(entity.bronze_table, layers, tables) and exists[entity.bronze_table]:
            results.append(lineage.bronze_offsets_contiguous(spark, get_catalog(), entity))
        if not selected(entity.silver_table, layers, tables):
            continue
        if not exists[entity.silver_table]:
            results.append(CheckResult(f"silver_exists.{name}", "silver", entity.silver_table, Status.FAIL,
                                       details="table missing: bronze_to_silver did not run"))
            continue
        with phase("checks.silver"):
            entity_results, silver_rows[name] = silver_lake_checks(spark, entity, branch)
        results += entity_results
    if selected(GOLD_SUMMARY_TABLE, layers, tables) and exists[GOLD_SUMMARY_TABLE]:
        with phase("checks.gold"):
            results += gold_lake_checks(spark, branch, silver_rows.get("profiles"),
                                        exists[entities()["profiles"].silver_table])
    if branch:
        results += change_checks(spark, branch, {t for t in WAP_TABLES if exists[t] and selected(t, layers, tables)})
    suites = discover() if suites is None else suites
    with phase("checks.gx_setup"):
        runner = runner or SuiteRunner()
    return results + suite_checks(spark, branch, suites, runner, exists, layers, tables)


def change_checks(spark: SparkSession, branch: str, tables: set[str]) -> list[CheckResult]:
    """What the branch changes over ``main`` (the audit only): the payloads' drift against each topic's
    contract, the tables' schemas, and the rows publishing would insert, update or delete."""
    catalog, settings = get_catalog(), get_settings()
    results = [check for entity in entities().values() if entity.silver_table in tables
               for check in contract_checks(catalog, entity, branch, settings)]
    results += schema_checks(catalog, sorted(tables, key=WAP_TABLES.index), branch)
    with phase("checks.diff"):
        results += diff_checks(spark, branch, {t: k for t, k in diff_keys().items() if t in tables}, settings)
    return results


def silver_lake_checks(spark: SparkSession, entity: Entity, branch: str | None) -> tuple[list[CheckResult], int]:
    """Counts, exact accounting and lineage of one Silver table against the Bronze snapshot it was built from."""
    catalog = get_catalog()
    head = run_snapshot_id(entity.silver_table, branch)
    totals = newest_json(catalog.load_table(entity.silver_table), head, TOTALS, {})
    bronze_sid = lineage.upstream_of(catalog, entity.silver_table, head).get(entity.bronze_table)
    if bronze_sid is None:
        raise MissingUpstreamError(f"{entity.silver_table}: no commit names the {entity.bronze_table} snapshot "
                                   "it was built from")
    bronze = read_snapshot(spark, entity.bronze_table, bronze_sid)
    bronze_rows = bronze.count()
    rows = read_as_of(spark, entity.silver_table, branch).count()
    quarantined = (read_as_of(spark, QUARANTINE_TABLE, branch)
                   .where(f"source_table = '{entity.bronze_table}'").count())
    results = silver_checks(entity.name, entity.silver_table, bronze_rows=bronze_rows,
                            bronze_keys=business_keys(bronze, entity).distinct().count(),
                            silver_rows=rows, duplicates=int(totals.get("duplicates", 0)),
                            quarantined=quarantined, erased=int(totals.get("erased", 0)),
                            detail=f" (snapshot {bronze_sid})")
    results.append(lineage.silver_covers_bronze(entity, totals, bronze_rows, bronze_sid))
    if branch is None:  # on main: has every Bronze commit reached Silver yet?
        results.append(lineage.silver_up_to_date(catalog, entity, bronze_sid))
    return results, rows


def gold_lake_checks(spark: SparkSession, branch: str | None, silver_kols: int | None, silver_exists: bool) -> list[CheckResult]:
    """One Gold row per Silver KOL, the trending distribution, and Gold's lineage down to Bronze."""
    catalog = get_catalog()
    gold_df = read_as_of(spark, GOLD_SUMMARY_TABLE, branch)
    if silver_kols is None and silver_exists:
        silver_kols = read_as_of(spark, entities()["profiles"].silver_table, branch).count()
    return [gold_check(gold_df.count(), silver_kols or 0), *score_distribution(gold_df),
            *lineage.gold_from_current_silver(spark, catalog, branch),
            lineage.gold_rows_trace_to_bronze(spark, catalog, branch),
            *([trino_matches_spark(get_settings(), spark, run_snapshot_id(GOLD_SUMMARY_TABLE, None))]
              if branch is None else [])]  # Trino reads main only


def suite_checks(spark: SparkSession, branch: str | None, suites: dict[str, Path], runner: SuiteRunner,
                 exists: dict[str, bool], layers: Collection[str], tables: Collection[str] | None) -> list[CheckResult]:
    """Every suite file of the selected tables, including tables added later than this code."""
    results: list[CheckResult] = []
    for table, path in suites.items():
        if not selected(table, layers, tables):
            continue
        layer = layer_of(table)
        if not (exists[table] if table in exists else spark.catalog.tableExists(qualified(table))):
            results.append(CheckResult(f"suite.{table}", layer, table, Status.FAIL,
                                       details=f"suite {path} names a table that does not exist"))
            continue
        try:
            suite, keys = load_suite(path), key_columns().get(table, ())
        except SuiteError as exc:  # the run says which file, and judges every other suite
            results.append(CheckResult(f"suite.{table}", layer, table, Status.FAIL, details=str(exc)))
            continue
        df = read_as_of(spark, table, branch) if table in WAP_TABLES else spark.table(qualified(table))
        with phase("checks.suites"):
            whole = runner.validate(df, table, suite, layer=layer, key_columns=keys)
        results += whole
        if branch and table in WAP_TABLES:
            with phase("checks.suites_increment"):
                results += increment_suite_checks(spark, branch, table, suite, runner, layer, keys, whole)
    return results


INCREMENT = "increment"


def increment_suite_checks(spark: SparkSession, branch: str, table: str, suite: Any, runner: SuiteRunner, layer: str,
                           keys: Sequence[str], whole: list[CheckResult]) -> list[CheckResult]:  # Any: a GX suite
    """The suite once more on the rows this run inserted or updated (the branch's change over ``main``).

    A ``mostly`` or ratio rule is diluted by history on the whole table: 5 % bad rows in a 2,000-row
    increment are 0.03 % of 300,000. Judged on the change, they FAIL. Table-level expectations (row
    counts, the column list) describe the table and are not repeated. Nothing to judge apart when the
    branch wrote nothing, or every row (a first run, a refit that rewrote the table).
    """
    change = read_change(spark, table, branch)
    row_rules = [e for e in suite.expectations if not e.expectation_type.startswith("expect_table_")]
    if change is None or not row_rules:
        return []
    with cached_frames() as cache:
        change = cache(change)
        rows = change.count()
        row_suite = suite_of(suite.name, [e.configuration for e in row_rules])
        judged = runner.validate(change, table, row_suite, layer=layer, key_columns=keys, scope=INCREMENT)
    on_table = {r.check_id.replace(f"suite.{table}.", "", 1): r for r in whole}
    for result in judged:
        table_result = on_table.get(result.check_id.replace(f"suite.{table}.{INCREMENT}.", "", 1))
        figure = f"whole table: {table_result.observed} ({table_result.status})" if table_result else ""
        result.details = "; ".join(filter(None, (f"this run's {rows} inserted/updated rows", figure,
                                                 result.details)))
    return judged


def score_distribution(gold_df: DataFrame) -> list[CheckResult]:
    """Per platform: the test plan's ranking rule on the top 50 by trending (as the dashboard lists them),
    >= 80 % distinct trending scores among *active* KOLs (inactive ones share the floor 0 by design),
    and no placeholder follower counts."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    active = gold_df.where(F.col("trending_reason").isNull())
    rank = Window.partitionBy("platform").orderBy(F.desc("trending_score"), F.asc("kol_id"))
    top = (active.withColumn("rank", F.row_number().over(rank)).where(F.col("rank") <= TOP_LIST_SIZE)
           .select("platform", "trending_score").collect())
    distinct = {r.platform: r for r in active.groupBy("platform").agg(
        F.count("*").alias("n"), F.countDistinct("trending_score").alias("distinct")).collect()}
    out = []
    for platform in sorted({r.platform for r in gold_df.select("platform").distinct().collect()}):
        r = distinct.get(platform)
        if r is None:
            out.append(CheckResult(f"gold.trending_distinct.{platform}", "gold", GOLD_SUMMARY_TABLE, Status.SKIP,
                                   0, f">= {MIN_DISTINCT}", "no active KOL (none has a video in the trending window)"))
        else:
            out.append(compare(f"gold.trending_distinct.{platform}", "gold", GOLD_SUMMARY_TABLE,
                               round(r.distinct / r.n, 4), MIN_DISTINCT, op=">=",
                               details=f"{r.distinct} distinct of {r.n} active KOLs"))
        scores = sorted((t.trending_score for t in top if t.platform == platform), reverse=True)
        out += ranking_checks("gold.top_trending", platform, "gold", GOLD_SUMMARY_TABLE, scores,
                              f"top {TOP_LIST_SIZE} by trending")
    return out + followers_placeholders(gold_df)


PLACEHOLDER_MIN_FOLLOWERS = 10_000  # "large" accounts: an exact follower count rarely repeats among them
PLACEHOLDER_MAX_SHARE = 0.001


def followers_placeholders(gold_df: DataFrame) -> list[CheckResult]:
    """PROD-005's intent over the whole population: no follower count stands in for many large accounts.

    Small accounts collide naturally (tens of thousands of KOLs with a few hundred followers), so the rule
    looks at accounts with >= 10,000 followers: the most common count there may be held by at most
    max(3, 0.1 %) of them. A placeholder (every unknown account at 50,000) breaks it at once.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    large = gold_df.where(F.col("followers_count") >= PLACEHOLDER_MIN_FOLLOWERS)
    per_value = large.groupBy("platform", "followers_count").count()
    most = Window.partitionBy("platform").orderBy(F.desc("count"), F.asc("followers_count"))
    rows = (per_value.withColumn("total", F.sum("count").over(Window.partitionBy("platform")))
            .withColumn("rank", F.row_number().over(most)).where("rank = 1").collect())
    out = []
    for r in sorted(rows, key=lambda r: r.platform):
        limit = max(3, int(PLACEHOLDER_MAX_SHARE * r.total))
        out.append(compare(f"gold.followers_placeholder.{r.platform}", "gold", GOLD_SUMMARY_TABLE, r["count"],
                           limit, op="<=", details=f"{r['count']} of {r.total} accounts with >= "
                           f"{PLACEHOLDER_MIN_FOLLOWERS:,} followers have exactly {r.followers_count:,}"))
    return out
