"""Record counts per layer, read from the tables themselves (pyiceberg, no Spark).

Each function reads the current ``main`` snapshot of a table; the checks
compare layers with each other, so a silent drop anywhere shows up as a
mismatch, not as a number someone has to eyeball.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.entities import entities
from lakehouse.core.names import ADDED_RECORDS, AIRFLOW_RUN_ID, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE, TOTALS
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.filters import equal
from lakehouse.iceberg.snapshots import newest_json, summary, table_or_none

if TYPE_CHECKING:
    from pyiceberg.table import Table

SILVER_MIN_RATIO = 0.95


def total_records(table: Table | None) -> int:
    """Live rows of ``main``: delete files applied (merge-on-read deletes keep ``total-records`` as is)."""
    if table is None or table.current_snapshot() is None:
        return 0
    return int(table.scan().count())


def rows_appended_by_run(table: Table, run_id: str) -> int:
    """Rows that snapshots committed by ``run_id`` added (the Bronze side of 'produced == ingested')."""
    return sum(int(summary(snap).get(ADDED_RECORDS, 0)) for snap in table.snapshots()
               if summary(snap).get(AIRFLOW_RUN_ID) == run_id)


def silver_totals(table: Table | None) -> dict[str, Any]:
    """Cumulative Silver counters (since the last full rebuild) as of ``main``."""
    snap = table.current_snapshot() if table is not None else None
    totals: dict[str, Any] = newest_json(table, snap.snapshot_id, TOTALS, {}) if table and snap else {}
    return totals


def quarantined_from(table: Table | None, source_table: str) -> int:
    if table is None or table.current_snapshot() is None:
        return 0
    return int(table.scan(row_filter=equal("source_table", source_table)).count())


def silver_checks(name: str, silver_table: str, *, bronze_rows: int, bronze_keys: int | None, silver_rows: int,
                  duplicates: int, quarantined: int, erased: int = 0, detail: str = "") -> list[CheckResult]:
    """Silver >= 95 % of distinct Bronze business keys, and Bronze = Silver + duplicates + quarantined + erased
    exactly (``erased``: Bronze records of erased subjects, kept as offsets without their payload).

    ``bronze_keys``: distinct business keys parsed from Bronze's payloads (a Spark count, see
    :func:`lakehouse.etl.parse.business_keys`); None leaves the key check to the Spark-side lake checks.
    """
    keys = []
    if bronze_keys is not None:
        ratio = round(silver_rows / bronze_keys, 4) if bronze_keys else 1.0
        keys.append(compare(f"silver_vs_bronze_keys.{name}", "silver", silver_table, ratio, SILVER_MIN_RATIO,
                            op=">=", details=f"silver {silver_rows} / distinct bronze business keys {bronze_keys}"))
    return [
        *keys,
        compare(f"accounting.{name}", "silver", silver_table, silver_rows + duplicates + quarantined + erased,
                bronze_rows, details=(f"silver {silver_rows} + duplicates {duplicates} + quarantined {quarantined} "
                                      f"+ erased {erased} vs bronze {bronze_rows}{detail}")),
    ]


def gold_check(gold_rows: int, silver_kols: int) -> CheckResult:
    return compare("gold_vs_silver_kols", "gold", GOLD_SUMMARY_TABLE, gold_rows, silver_kols,
                   details="one Gold row per Silver KOL")


def layer_counts(settings: Settings) -> dict[str, Any]:
    """Current row counts of every layer, for reports and checks."""
    catalog = get_catalog(settings)
    quarantine = table_or_none(catalog, QUARANTINE_TABLE)
    out: dict[str, dict[str, int]] = {"bronze": {}, "silver": {}, "quarantine": {}, "duplicates": {}, "erased": {},
                                      "gold": {}}
    for name, entity in entities().items():
        bronze = table_or_none(catalog, entity.bronze_table)
        silver = table_or_none(catalog, entity.silver_table)
        out["bronze"][name] = total_records(bronze)
        out["silver"][name] = total_records(silver)
        out["quarantine"][name] = quarantined_from(quarantine, entity.bronze_table)
        totals = silver_totals(silver)
        out["duplicates"][name] = int(totals.get("duplicates", 0))
        out["erased"][name] = int(totals.get("erased", 0))
    out["gold"]["kol_summary"] = total_records(table_or_none(catalog, GOLD_SUMMARY_TABLE))
    return out


def bronze_missing(name: str) -> CheckResult:
    return CheckResult(f"bronze_exists.{name}", "bronze", entities()[name].bronze_table, Status.FAIL,
                       details="table missing")


def bronze_vs_produced(bronze: Table, name: str, produced: dict[str, int], run_id: str,
                       rows: int | None = None) -> CheckResult:
    """Rows this run appended to one Bronze table (without a run id: all its rows, ``rows`` if already
    counted) vs messages produced."""
    entity = entities()[name]
    got = rows_appended_by_run(bronze, run_id) if run_id else (total_records(bronze) if rows is None else rows)
    return compare(f"bronze_vs_produced.{name}", "bronze", entity.bronze_table, got, produced.get(entity.topic, 0),
                   details="rows this run appended vs messages produced")


def check_bronze_counts(settings: Settings, *, produced: dict[str, int], run_id: str) -> list[CheckResult]:
    """Bronze vs produced alone, from metadata: what can be judged as soon as ingest committed."""
    catalog = get_catalog(settings)
    results = []
    for name, entity in entities().items():
        bronze = table_or_none(catalog, entity.bronze_table)
        results.append(bronze_missing(name) if bronze is None else bronze_vs_produced(bronze, name, produced, run_id))
    return results


def check_layer_counts(settings: Settings, *, produced: dict[str, int] | None = None, run_id: str = "",
                       counts: dict[str, Any] | None = None) -> list[CheckResult]:
    """Bronze vs produced, exact accounting, Gold vs Silver, from metadata and counts (no whole-column reads).

    Silver vs distinct Bronze business keys needs the payloads parsed: the lake checks do it in Spark.

    ``counts``: :func:`layer_counts` already taken by the caller (else taken here).
    """
    catalog = get_catalog(settings)
    counts = counts or layer_counts(settings)
    results: list[CheckResult] = []
    for name, entity in entities().items():
        bronze = table_or_none(catalog, entity.bronze_table)
        if bronze is None:
            results.append(bronze_missing(name))
            continue
        if produced is not None:
            results.append(bronze_vs_produced(bronze, name, produced, run_id, counts["bronze"][name]))
        results += silver_checks(
            name, entity.silver_table, bronze_rows=counts["bronze"][name], bronze_keys=None,
            silver_rows=counts["silver"][name], duplicates=counts["duplicates"][name],
            quarantined=counts["quarantine"][name], erased=counts.get("erased", {}).get(name, 0),
        )
    results.append(gold_check(counts["gold"]["kol_summary"], counts["silver"]["profiles"]))
    return results
