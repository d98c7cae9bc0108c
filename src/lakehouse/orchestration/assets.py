"""Airflow Assets for the lakehouse tables (data-aware scheduling between DAGs)."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

from lakehouse.core.names import BRONZE_TABLES, CATALOG_NAME, REGISTRY_TABLE

BRONZE_ALIAS = AssetAlias("lakehouse-bronze")


def table_asset(table: str) -> Asset:
    """``iceberg://lake/<namespace>/<table>`` named after the table."""
    namespace, name = table.split(".", 1)
    return Asset(uri=f"iceberg://{CATALOG_NAME}/{namespace}/{name}", name=table, group="lakehouse")


BRONZE_ASSETS = {topic: table_asset(table) for topic, table in BRONZE_TABLES.items()}
# Updated only when a trust model is promoted (the training task fails otherwise): Gold rescores.
TRUST_CHAMPION_ASSET = table_asset(REGISTRY_TABLE)
