"""Names the layers agree on: topics, tables, snapshot-summary keys, branches.

A name used by a writer and a reader (Bronze ingest and the Silver job, the
Silver job and the lineage checks) lives here once, so the two cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

CATALOG_NAME = "lake"
NAMESPACES = ("bronze", "silver", "gold", "ml", "audit")
PLATFORMS = ("tiktok", "youtube")
MAIN = "main"
# The Write-Audit-Publish steps in order: three Spark jobs (``spark_jobs/<name>.py``: write, write, audit),
# then publish, which moves refs without Spark.
WAP_JOBS = ("bronze_to_silver", "silver_to_gold", "audit_branch", "publish_branch")

# ---- topics and tables ---------------------------------------------------------
TOPICS = {
    "profiles": "kol-profiles-raw",
    "videos": "kol-videos-raw",
    "comments": "kol-comments-raw",
}


def bronze_table_name(topic: str) -> str:
    """``kol-profiles-raw`` -> ``bronze.kol_profiles_raw``."""
    return "bronze." + topic.replace("-", "_")


BRONZE_TABLES = {topic: bronze_table_name(topic) for topic in TOPICS.values()}
QUARANTINE_TABLE = "silver.quarantine"
GOLD_SUMMARY_TABLE = "gold.kol_summary"


def silver_table_name(entity: str) -> str:
    """``profiles`` -> ``silver.kol_profiles`` (a contract must name this table, see ``core.entities``)."""
    return f"silver.kol_{entity}"


SILVER_TABLES = tuple(silver_table_name(entity) for entity in TOPICS)
# anomaly baselines compare a run with earlier runs of the same season (lakehouse.quality.baseline)
BASELINE_SEASONS = ("", "weekday", "hour", "weekday_hour")
LINEAGE_EVENTS_FILE = "openlineage.jsonl"  # OpenLineage's file transport, under Settings.lineage_dir
SCORE_REFERENCE_TABLE = "gold.score_reference"
LABELS_TABLE = "ml.kol_labels"
REGISTRY_TABLE = "ml.model_registry"
CHECK_RESULTS_TABLE = "audit.check_results"
COLUMN_METRICS_TABLE = "audit.column_metrics"
ERASURE_LEDGER_TABLE = "audit.erasure_ledger"  # salted hashes of erased subjects (lakehouse.iceberg.ledger)
# Every table a transform run writes on its WAP branch (and publishes together).
WAP_TABLES = (*SILVER_TABLES, QUARANTINE_TABLE, GOLD_SUMMARY_TABLE, SCORE_REFERENCE_TABLE)
# Written by Spark MERGE/UPDATE as merge-on-read: their delete files need rewriting.
MERGE_ON_READ_TABLES = WAP_TABLES
# Every table kol_lake_maintenance looks after.
MAINTAINED_TABLES = (*BRONZE_TABLES.values(), *WAP_TABLES, LABELS_TABLE, REGISTRY_TABLE, CHECK_RESULTS_TABLE,
                     COLUMN_METRICS_TABLE, ERASURE_LEDGER_TABLE)
# Tables holding rows keyed by a KOL (``platform``, ``kol_id`` columns): an erasure deletes the subject's rows.
SUBJECT_KEYED_TABLES = (*SILVER_TABLES, GOLD_SUMMARY_TABLE, LABELS_TABLE)
# A catalog namespace property set by the lake's first publish: before it, the nightly has nothing to judge;
# after it, a table that is missing existed and vanished.
FIRST_PUBLISHED = "lakehouse.first-published"
FIRST_PUBLISHED_NAMESPACE = "gold"


# What the nightly can be narrowed to (its Param ``layers``): the data layers, the hot path, the platform.
NIGHTLY_LAYERS = ("bronze", "silver", "gold", "serving", "health")


def layer_of(table: str) -> str:
    """``silver.kol_profiles`` -> ``silver`` (the namespace is the layer)."""
    return table.split(".", 1)[0]


# ---- snapshot-summary keys ------------------------------------------------------
# Written by Bronze ingest on every append.
KAFKA_TOPIC = "kafka.topic"
KAFKA_RANGES = "kafka.ranges"  # JSON {partition: [first, last]} consumed by this commit
KAFKA_NEXT_OFFSETS = "kafka.next-offsets"  # JSON {partition: next offset}, cumulative
KAFKA_FIRST_OFFSETS = "kafka.first-offsets"  # JSON {partition: first offset of the epoch}, cumulative
KAFKA_SOURCE = "kafka.source"  # JSON {epoch, cluster-id, topic-id, rows-before}: which log the offsets belong to
BATCH_ID = "lakehouse.batch-id"
BATCH_ROWS = "lakehouse.rows"
# Written by the Silver and Gold jobs.
LINEAGE_UPSTREAM = "lineage.upstream"  # JSON {table: snapshot_id}
LINEAGE_OFFSETS = "lineage.bronze-offsets"  # JSON {bronze table: {partition: [first, last]}}
LINEAGE_REPLAYED_FROM = "lineage.replayed-from"  # JSON {quarantine table: snapshot id a replay read}
STATS = "lakehouse.stats"  # JSON {name: number}, this run
TOTALS = "lakehouse.totals"  # JSON {name: number}, cumulative since the last full rebuild
SILVER_WATERMARK = "lineage.silver-watermark"  # newest Silver processed_at that Gold reflects
CONTRACT_DRIFT = "contract.drift"  # JSON {records, findings: [{field, kind, observed, count, samples}]}, this run
TRUST_MODEL = "lineage.trust-model"  # champion version Gold's trust scores come from ("none" before any)
ERASURE_REQUEST = "erasure.request-id"  # on the commits an erasure makes (lakehouse.etl.erasure)
# Written by every commit a DAG run makes.
AIRFLOW_DAG_ID = "airflow.dag_id"
AIRFLOW_RUN_ID = "airflow.run_id"
# Iceberg's own.
ADDED_RECORDS = "added-records"
TOTAL_RECORDS = "total-records"  # cumulative rows (Bronze never deletes, so compaction keeps it)
TOTAL_POSITION_DELETES = "total-position-deletes"  # rows merge-on-read deletes mask in those files
TOTAL_DATA_FILES = "total-data-files"


def run_properties(dag_id: str, run_id: str) -> dict[str, str]:
    """The summary properties that name the Airflow run behind a commit."""
    return {AIRFLOW_DAG_ID: dag_id, AIRFLOW_RUN_ID: run_id}


def lineage_properties(dag_id: str, run_id: str, *, upstream: Mapping[str, int | None], stats: Mapping[str, object],
                       **extra: object) -> dict[str, str]:
    """Summary properties of a Silver or Gold commit: its inputs, its numbers and its run (values as JSON)."""
    props = {LINEAGE_UPSTREAM: json.dumps(upstream, sort_keys=True), STATS: json.dumps(stats, sort_keys=True),
             **run_properties(dag_id, run_id)}
    props.update({k: json.dumps(v, sort_keys=True) for k, v in extra.items()})
    return props


# ---- Write-Audit-Publish branches -----------------------------------------------

def run_branch(run_id: str) -> str:
    """The WAP branch of an Airflow run: ``audit_<run id>``, made safe for Iceberg/SQL identifiers."""
    return "audit_" + re.sub(r"[^A-Za-z0-9_]", "_", run_id or "manual")[:120]
