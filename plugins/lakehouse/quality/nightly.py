"""What ``kol_quality_nightly`` checks, on the current ``main`` snapshots.

Two halves, so each runs where it is cheapest:

- :func:`run_lake_checks` is a spark-submit job: every suite (Bronze too),
  counts and accounting, lineage including a sampled Gold -> Bronze trace,
  with GX validation results and Data Docs under the reports dir;
- :func:`table_checks` needs only pyiceberg: Bronze rows vs the Kafka offsets
  recorded as consumed (100 %), freshness of each table's newest commit, and
  volume anomalies against the history of earlier runs in ``audit.check_results``.

Silver/Gold accounting lives in the lake checks, which compare Silver with the
Bronze snapshot it was built from: Bronze commits newer than that are pending,
not lost.
"""

from __future__ import annotations

from lakehouse.config import Settings, get_settings
from lakehouse.quality.lake_checks import LAYERS, selected
from lakehouse.quality.results import CheckResult

NIGHTLY_LAYERS = (*LAYERS, "serving")
LAKE_CHECKS_SOURCE = "lake_checks"
TABLE_CHECKS_SOURCE = "table_checks"


def scope(params: dict | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(layers, tables)`` from the DAG's Params; empty tables means every table of the layers."""
    params = params or {}
    layers = tuple(params.get("layers") or NIGHTLY_LAYERS)
    unknown = set(layers) - set(NIGHTLY_LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {list(NIGHTLY_LAYERS)}")
    return layers, tuple(params.get("tables") or ())


def run_lake_checks(spark, *, dag_id: str = "", run_id: str = "", params: dict | None = None, **_) -> dict:
    """spark-submit body: the Spark-side checks on ``main``, recorded under ``lake_checks``."""
    from lakehouse.quality.lake_checks import lake_checks
    from lakehouse.quality.store import record
    from lakehouse.quality.suites import SuiteRunner

    settings = get_settings()
    layers, tables = scope(params)
    runner = SuiteRunner(settings.reports_dir, f"{dag_id}__{run_id}")
    results = lake_checks(spark, None, layers=layers, tables=tables, runner=runner)
    data_docs = runner.build_docs()
    record(settings, dag_id=dag_id, run_id=run_id, source=LAKE_CHECKS_SOURCE, results=results)
    return {"checks": len(results), "data_docs": data_docs,
            "failed": [r.check_id for r in results if r.status == "FAIL"]}


def table_totals(counts: dict) -> dict[str, tuple[str, int]]:
    """``{table: (layer, rows)}`` from :func:`lakehouse.quality.counts.layer_counts`."""
    from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE

    out = {}
    for name, entity in ENTITIES.items():
        out[entity.bronze_table] = ("bronze", counts["bronze"][name])
        out[entity.silver_table] = ("silver", counts["silver"][name])
    out[QUARANTINE_TABLE] = ("silver", sum(counts["quarantine"].values()))
    out[GOLD_SUMMARY_TABLE] = ("gold", counts["gold"]["kol_summary"])
    return out


def table_checks(*, dag_id: str, run_id: str, params: dict | None = None, counts: dict | None = None,
                 settings: Settings | None = None) -> list[CheckResult]:
    """Offsets, freshness and volume of the selected tables; recorded under ``table_checks``."""
    from lakehouse.catalog import get_catalog
    from lakehouse.etl.entities import ENTITIES
    from lakehouse.quality.counts import layer_counts, load_table_or_none
    from lakehouse.quality.store import record
    from lakehouse.quality.volume import table_freshness, volume_checks

    settings = settings or get_settings()
    layers, tables = scope(params)
    catalog = get_catalog(settings)
    counts = counts or layer_counts(settings)
    totals = {t: v for t, v in table_totals(counts).items() if selected(t, layers, tables)}
    results = [bronze_vs_kafka_offsets(load_table_or_none(catalog, e.bronze_table), e.bronze_table, e.topic)
               for e in ENTITIES.values() if selected(e.bronze_table, layers, tables)]
    results += [table_freshness(load_table_or_none(catalog, t), t, layer, settings.freshness_max_age_hours)
                for t, (layer, _) in totals.items()]
    results += volume_checks(settings, dag_id, totals, run_id=run_id, k=settings.volume_mad_k, window=settings.volume_window)
    if "serving" in layers:
        results += redis_checks(settings)
    record(settings, dag_id=dag_id, run_id=run_id, source=TABLE_CHECKS_SOURCE, results=results)
    return results


def bronze_vs_kafka_offsets(table, table_name: str, topic: str) -> CheckResult:
    """Bronze rows == offsets recorded as consumed, contiguous per partition (the ingest reconciliation)."""
    from lakehouse.ingest.bronze import ReconciliationError, reconcile
    from lakehouse.quality.results import Status

    check_id = f"bronze_vs_kafka_offsets.{table_name.split('.', 1)[1]}"
    if table is None:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, details="table missing")
    try:
        partitions = reconcile(table, topic)
    except ReconciliationError as exc:
        return CheckResult(check_id, "bronze", table_name, Status.FAIL, None, "== offsets consumed", str(exc))
    rows = sum(p.get("rows", 0) for p in partitions.values())
    return CheckResult(check_id, "bronze", table_name, Status.PASS, rows, "== offsets consumed",
                       f"{len(partitions)} partition(s) reconciled")


def redis_checks(settings: Settings) -> list[CheckResult]:
    """The hot path vs Gold, and the published content checks; SKIP before anything was ever published."""
    from lakehouse.catalog import get_catalog
    from lakehouse.config import PLATFORMS
    from lakehouse.quality.counts import redis_vs_gold
    from lakehouse.quality.results import Status
    from lakehouse.serving.checks import serving_checks
    from lakehouse.serving.redis_publish import current_version, published_counts, redis_client

    try:
        version = current_version(redis_client(settings))
    except Exception as exc:  # the hot path is down: that is the finding
        return [CheckResult("redis.reachable", "serving", "redis", Status.FAIL, None, "reachable",
                            f"{type(exc).__name__}: {exc}")]
    if version is None:
        return [CheckResult("redis.published", "serving", "redis", Status.SKIP, None, "a published version",
                            "nothing has been published to Redis yet")]
    return redis_vs_gold(get_catalog(settings), published_counts(settings, PLATFORMS)) + serving_checks(settings)
