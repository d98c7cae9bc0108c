"""The audit of a WAP branch: counts, accounting, lineage and every expectation suite, before publish.

Everything is read as of the run's branch (``VERSION AS OF '<branch>'``), so
what is audited is exactly what publishing would expose. A FAIL raises
:class:`AuditError` naming the rule, the observed value and up to 20
offending rows; ``main`` stays untouched and the branch stays for inspection.
"""

from __future__ import annotations

import json

from lakehouse.etl.entities import ENTITIES, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE
from lakehouse.etl.tables import LINEAGE_UPSTREAM, TOTALS, newest_property, snapshot_id
from lakehouse.etl.wap import WAP_TABLES, effective_ref, read_as_of
from lakehouse.quality.counts import gold_check, silver_checks
from lakehouse.quality.results import CheckResult, DataBreach, Status, compare

KEY_COLUMNS = {
    **{e.silver_table: e.key for e in ENTITIES.values()},
    QUARANTINE_TABLE: ("source_table", "kafka_partition", "kafka_offset"),
    GOLD_SUMMARY_TABLE: ("platform", "kol_id"),
}


class AuditError(DataBreach):
    def __init__(self, branch: str, failed: list[CheckResult]):
        self.failed = failed
        lines = [f"audit of branch {branch!r} failed; main was not changed, the branch is kept for inspection:"]
        for r in failed:
            lines.append(f"  FAIL {r.check_id} [{r.table}] observed={r.observed} threshold={r.threshold} {r.details}")
        super().__init__("\n".join(lines))


def audit_branch(spark, branch: str | None, *, suites: dict | None = None) -> list[CheckResult]:
    from lakehouse.catalog import get_catalog
    from lakehouse.quality.suites import discover, load_suite, validate_dataframe

    catalog = get_catalog()
    results: list[CheckResult] = []
    silver_rows = {}
    for name, entity in ENTITIES.items():
        if not spark.catalog.tableExists(f"lake.{entity.silver_table}"):
            results.append(CheckResult(f"silver_exists.{name}", "silver", entity.silver_table, Status.FAIL,
                                       details="table missing: bronze_to_silver did not run"))
            continue
        ref = effective_ref(spark, entity.silver_table, branch)
        silver_meta = catalog.load_table(entity.silver_table)
        head = silver_meta.refs()[ref].snapshot_id
        upstream = json.loads(newest_property(silver_meta, head, LINEAGE_UPSTREAM) or "{}")
        totals = json.loads(newest_property(silver_meta, head, TOTALS) or "{}")
        bronze_sid = upstream.get(entity.bronze_table)
        bronze = spark.read.option("snapshot-id", bronze_sid).table(f"lake.{entity.bronze_table}")
        bronze_rows = bronze.count()
        bronze_keys = bronze.select("kafka_key").distinct().count()
        silver_rows[name] = rows = read_as_of(spark, entity.silver_table, branch).count()
        quarantined = (read_as_of(spark, QUARANTINE_TABLE, branch)
                       .where(f"source_table = '{entity.bronze_table}'").count())
        results += silver_checks(name, entity.silver_table, bronze_rows=bronze_rows, bronze_keys=bronze_keys,
                                 silver_rows=rows, duplicates=int(totals.get("duplicates", 0)),
                                 quarantined=quarantined, detail=f" (snapshot {bronze_sid})")
        results.append(compare(f"lineage.silver_covers_bronze.{name}", "silver", entity.silver_table,
                               int(totals.get("bronze-rows", 0)), bronze_rows,
                               details="Bronze rows processed into Silver since the last rebuild vs Bronze rows"))
    if spark.catalog.tableExists(f"lake.{GOLD_SUMMARY_TABLE}") and "profiles" in silver_rows:
        gold_ref = effective_ref(spark, GOLD_SUMMARY_TABLE, branch)
        gold_df = read_as_of(spark, GOLD_SUMMARY_TABLE, branch)
        results.append(gold_check(gold_df.count(), silver_rows["profiles"]))
        results += trending_distribution(gold_df)
        gold_meta = catalog.load_table(GOLD_SUMMARY_TABLE)
        upstream = json.loads(newest_property(gold_meta, gold_meta.refs()[gold_ref].snapshot_id,
                                              LINEAGE_UPSTREAM) or "{}")
        for entity in ENTITIES.values():
            current = snapshot_id(spark, entity.silver_table, effective_ref(spark, entity.silver_table, branch))
            results.append(compare(f"lineage.gold_from_current_silver.{entity.name}", "gold", GOLD_SUMMARY_TABLE,
                                   upstream.get(entity.silver_table), current,
                                   details=f"Gold's recorded {entity.silver_table} snapshot vs the audited one"))
    available = discover() if suites is None else suites
    for table in WAP_TABLES:
        if table not in available or not spark.catalog.tableExists(f"lake.{table}"):
            continue
        df = read_as_of(spark, table, branch)
        layer = table.split(".", 1)[0]
        results += validate_dataframe(df, table, load_suite(available[table]), layer=layer,
                                      key_columns=KEY_COLUMNS.get(table, ()))
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


def run(spark, *, branch: str | None = None, dag_id: str = "", run_id: str = "", **_) -> dict:
    from lakehouse.config import get_settings
    from lakehouse.quality.store import record

    results = audit_branch(spark, branch)
    if run_id:  # pass or fail, the audit's results are kept
        record(get_settings(), dag_id=dag_id, run_id=run_id, source="audit_branch", results=results)
    failed = [r for r in results if r.status == Status.FAIL]
    if failed:
        raise AuditError(branch or "main", failed)
    return {"branch": branch, "checks": [r.to_dict() for r in results],
            "warnings": sum(r.status == Status.WARN for r in results)}
