"""Table helpers shared by the Spark jobs: create-if-missing, snapshot ids, lineage properties."""

from __future__ import annotations

import json

LINEAGE_UPSTREAM = "lineage.upstream"  # JSON {table: snapshot_id}
STATS = "lakehouse.stats"  # JSON {name: number}


def table_exists(spark, table: str) -> bool:
    return spark.catalog.tableExists(f"lake.{table}")


def create_table_like(spark, table: str, df) -> None:
    """Create ``table`` with ``df``'s schema if it does not exist (format v2, no rows)."""
    if table_exists(spark, table):
        return
    (
        df.limit(0).writeTo(f"lake.{table}").using("iceberg")
        .tableProperty("format-version", "2")
        .tableProperty("write.wap.enabled", "true")
        .createOrReplace()
    )


def snapshot_id(spark, table: str) -> int | None:
    """Current snapshot id of ``table`` (None if it has no snapshot or does not exist)."""
    if not table_exists(spark, table):
        return None
    refs = spark.sql(f"SELECT snapshot_id FROM lake.{table}.refs WHERE name = 'main'").collect()
    return refs[0].snapshot_id if refs else None


def lineage_properties(dag_id: str, run_id: str, *, upstream: dict, stats: dict) -> dict[str, str]:
    return {
        LINEAGE_UPSTREAM: json.dumps({t: s for t, s in upstream.items()}, sort_keys=True),
        STATS: json.dumps(stats, sort_keys=True),
        "airflow.dag_id": dag_id,
        "airflow.run_id": run_id,
    }
