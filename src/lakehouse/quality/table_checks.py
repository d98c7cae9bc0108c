"""The nightly checks that need only pyiceberg (and Redis): offsets, freshness, volume, the hot path.

Their Spark-side half is :func:`lakehouse.quality.lake_checks.run_lake_checks`.

- Bronze rows vs the Kafka offsets recorded as consumed (100 %);
- freshness of each table's newest commit;
- volume anomalies against the history of earlier runs in ``audit.check_results``;
- with layer ``serving``: the Redis hot path against Gold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.entities import contract_problems, entities
from lakehouse.core.errors import UnknownSelectionError
from lakehouse.core.names import GOLD_SUMMARY_TABLE, NIGHTLY_LAYERS, QUARANTINE_TABLE
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import table_or_none
from lakehouse.quality.counts import layer_counts
from lakehouse.quality.lake_checks import selected
from lakehouse.quality.reconcile import bronze_vs_kafka_offsets
from lakehouse.quality.serving import hot_path_checks
from lakehouse.quality.store import record
from lakehouse.quality.suites import discover
from lakehouse.quality.volume import table_freshness, volume_checks

LAKE_CHECKS_SOURCE = "lake_checks"
TABLE_CHECKS_SOURCE = "table_checks"


def scope(params: dict[str, Any] | None, settings: Settings | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(layers, tables)`` from the DAG's Params; empty tables means every table of the layers.

    A named table must exist in the catalog or have a suite: a typo would otherwise select nothing.
    """
    params = params or {}
    layers = tuple(params.get("layers") or NIGHTLY_LAYERS)
    unknown = set(layers) - set(NIGHTLY_LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {list(NIGHTLY_LAYERS)}")
    tables = tuple(params.get("tables") or ())
    if tables:
        known = checkable_tables(settings or get_settings())
        if unknown_tables := sorted(set(tables) - known):
            raise UnknownSelectionError(f"unknown table(s) {unknown_tables}: neither in the catalog nor named by a "
                                        f"suite; choose from {sorted(known)}")
    return layers, tables


def checkable_tables(settings: Settings) -> set[str]:
    """Every table of the lake's catalog, and every table a suite file names (it may not exist yet)."""
    catalog = get_catalog(settings)
    existing = {".".join(ident) for ns in catalog.list_namespaces() for ident in catalog.list_tables(ns)}
    return existing | set(discover(settings.expectations_dir))


def contracts_check(problems: list[str], directory: Path) -> CheckResult:
    """``contracts.valid``: FAIL naming each broken file and the rule it breaks."""
    return CheckResult("contracts.valid", "bronze", str(directory), Status.FAIL, len(problems), "0 problems",
                       "; ".join(problems))


def table_totals(counts: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """``{table: (layer, rows)}`` from :func:`lakehouse.quality.counts.layer_counts`."""
    out = {}
    for name, entity in entities().items():
        out[entity.bronze_table] = ("bronze", counts["bronze"][name])
        out[entity.silver_table] = ("silver", counts["silver"][name])
    out[QUARANTINE_TABLE] = ("silver", sum(counts["quarantine"].values()))
    out[GOLD_SUMMARY_TABLE] = ("gold", counts["gold"]["kol_summary"])
    return out


def table_checks(*, dag_id: str, run_id: str, params: dict[str, Any] | None = None, counts: dict[str, Any] | None = None,
                 settings: Settings | None = None) -> list[CheckResult]:
    """Offsets, freshness and volume of the selected tables (and Redis); recorded under ``table_checks``.

    Broken contract files come first: every other check reads the entities they declare, so the run records
    one FAIL naming each file and rule instead."""
    settings = settings or get_settings()
    if problems := contract_problems(settings.contracts_dir):
        results = [contracts_check(problems, settings.contracts_dir)]
        record(settings, dag_id=dag_id, run_id=run_id, source=TABLE_CHECKS_SOURCE, results=results)
        return results
    layers, tables = scope(params, settings)
    catalog = get_catalog(settings)
    counts = counts or layer_counts(settings)
    totals = {t: v for t, v in table_totals(counts).items() if selected(t, layers, tables)}
    results = [bronze_vs_kafka_offsets(table_or_none(catalog, e.bronze_table), e.bronze_table, e.topic)
               for e in entities().values() if selected(e.bronze_table, layers, tables)]
    results += [table_freshness(table_or_none(catalog, t), t, layer, settings.freshness_max_age_hours)
                for t, (layer, _) in totals.items()]
    results += volume_checks(settings, dag_id, totals, run_id=run_id)
    if "serving" in layers:
        results += hot_path_checks(settings)
    record(settings, dag_id=dag_id, run_id=run_id, source=TABLE_CHECKS_SOURCE, results=results)
    return results
