"""Airflow Assets for the lakehouse tables (data-aware scheduling between DAGs)."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

from lakehouse.config import TOPICS, bronze_table_name

BRONZE_ALIAS = AssetAlias("lakehouse-bronze")


def table_asset(table: str) -> Asset:
    """``iceberg://lake/<namespace>/<table>`` named after the table."""
    namespace, name = table.split(".", 1)
    return Asset(uri=f"iceberg://lake/{namespace}/{name}", name=table, group="lakehouse")


BRONZE_ASSETS = {topic: table_asset(bronze_table_name(topic)) for topic in TOPICS.values()}
# Updated only when a trust model is promoted (the training task fails otherwise): Gold rescores.
TRUST_CHAMPION_ASSET = table_asset("ml.model_registry")
