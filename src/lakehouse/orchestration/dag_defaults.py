"""Defaults every DAG shares: owner, retries, time bounds, pool, tags, start date."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lakehouse.config import get_settings

if TYPE_CHECKING:
    from airflow.sdk import Context

_SETTINGS = get_settings()
OWNER = "data-platform"
# Every lakehouse task takes one slot; kol_lake_maintenance takes them all, so it never runs beside a
# writer (a reader-writer lock from Airflow's own pools). Created by `lakehouse setup`.
LAKE_POOL = "lakehouse_lake"
LAKE_POOL_SLOTS = 16
START_DATE = datetime(2026, 1, 1)


def apply_connections_callback(context: Context) -> None:
    """Before every task: the ``iceberg_catalog`` connection, if any, becomes the task's catalog settings."""
    from lakehouse.orchestration.hooks import apply_connections

    apply_connections()


DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "pool": LAKE_POOL,
    "execution_timeout": timedelta(minutes=_SETTINGS.task_timeout_minutes),
    "on_execute_callback": apply_connections_callback,
}
BASE_TAGS = ["kol-lakehouse"]
# Every DAG: no catchup, one run at a time (a WAP branch or a consumer per topic never races itself).
DAG_DEFAULTS = {"start_date": START_DATE, "catchup": False, "max_active_runs": 1, "default_args": DEFAULT_ARGS,
                "dagrun_timeout": timedelta(hours=_SETTINGS.dagrun_timeout_hours)}


def tags(*extra: str) -> list[str]:
    return [*BASE_TAGS, *extra]
