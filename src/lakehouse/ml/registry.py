"""``ml.model_registry``: every trained trust model, its metrics and lineage, and which one is champion.

A registration (and a promotion) is one Iceberg commit that rewrites the small
registry table, so the champion flips atomically: readers see the old champion
or the new one, never two or none. Registering again from the same Airflow run
replaces that run's row (retries never add versions).

Two trainings at once: a version is allocated by committing a ``reserved`` row,
and every commit here asserts the table is still what it read (pyiceberg's
optimistic concurrency), so the loser of a race re-reads and takes the next
version instead of overwriting the winner. Artifacts go to a fresh path per
attempt (``v<N>-<token>``) and are never overwritten.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.config import Settings, get_settings
from lakehouse.core.names import REGISTRY_TABLE, run_properties
from lakehouse.iceberg.catalog import NO_BLIND_RETRY, ensure_table, get_catalog

if TYPE_CHECKING:
    from pyiceberg.table import Table

MODEL_NAME = "trust"
SCHEMA = pa.schema([
    pa.field("model_name", pa.string(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("dag_id", pa.string()),
    pa.field("run_id", pa.string()),
    pa.field("status", pa.string(), nullable=False),  # reserved | champion | retired | rejected
    pa.field("is_champion", pa.bool_(), nullable=False),
    pa.field("auc", pa.float64()),
    pa.field("metrics", pa.string()),  # JSON
    pa.field("params", pa.string()),  # JSON
    pa.field("training_snapshots", pa.string()),  # JSON {table: snapshot id}
    pa.field("artifact_path", pa.string(), nullable=False),
    pa.field("failed_gates", pa.string()),  # JSON list
])


def registry_table(settings: Settings) -> Table:
    table = ensure_table(get_catalog(settings), REGISTRY_TABLE, SCHEMA, NO_BLIND_RETRY)
    # a conflict (two reservations of one version) must reach _committed, which re-reads and redoes it
    if table.properties.get("commit.retry.num-retries") != "0":  # a registry from before this rule
        with table.transaction() as tx:
            tx.set_properties(NO_BLIND_RETRY)
        table = table.refresh()
    return table


def entries(settings: Settings, model_name: str = MODEL_NAME) -> list[dict]:
    rows = registry_table(settings).scan().to_arrow().to_pylist()
    return sorted((r for r in rows if r["model_name"] == model_name), key=lambda r: r["version"])


def champion(settings: Settings, model_name: str = MODEL_NAME) -> dict | None:
    champions = [r for r in entries(settings, model_name) if r["is_champion"]]
    if len(champions) > 1:
        raise RuntimeError(f"registry holds {len(champions)} champions for {model_name}")
    return champions[0] if champions else None


def current_champion(settings: Settings | None = None, model_name: str = MODEL_NAME) -> dict | None:
    """The champion entry, or None when no model was ever registered (never creates the registry)."""
    settings = settings or get_settings()
    if not get_catalog(settings).table_exists(REGISTRY_TABLE):
        return None
    return champion(settings, model_name)


COMMIT_ATTEMPTS = 20


def _committed(settings: Settings, change: Callable) -> object:
    """Run ``change(table)`` (one commit) on a fresh read of the registry; on a concurrent commit, again."""
    from pyiceberg.exceptions import CommitFailedException

    for _ in range(COMMIT_ATTEMPTS):
        try:
            return change(registry_table(settings))
        except CommitFailedException:
            continue  # someone else committed since we read: read again and redo
    raise RuntimeError(f"{REGISTRY_TABLE}: {COMMIT_ATTEMPTS} concurrent commits in a row; try again")


def reserve_version(settings: Settings, run_id: str, dag_id: str = "", model_name: str = MODEL_NAME) -> int:
    """The version this run registers: its earlier attempt's, else one past the newest, taken by a commit."""

    def reserve(table: Table) -> int:
        rows = [r for r in table.scan().to_arrow().to_pylist() if r["model_name"] == model_name]
        for r in rows:
            if run_id and r["run_id"] == run_id:
                return r["version"]
        version = max((r["version"] for r in rows), default=0) + 1
        table.append(pa.Table.from_pylist([_entry(model_name, version, dag_id, run_id, "reserved", "")],
                                          schema=SCHEMA), snapshot_properties=run_properties(dag_id, run_id))
        return version

    return _committed(settings, reserve)


def artifact_path(settings: Settings, version: int, model_name: str = MODEL_NAME) -> str:
    """A fresh, never reused path for one save of version ``version`` (artifacts are immutable)."""
    return f"{settings.warehouse_uri.rstrip('/')}/models/{model_name}/v{version}-{uuid.uuid4().hex[:12]}"


def _entry(model_name: str, version: int, dag_id: str, run_id: str, status: str, path: str, **fields) -> dict:
    base = {f.name: None for f in SCHEMA}
    return {**base, "model_name": model_name, "version": version, "created_at": datetime.now(UTC), "dag_id": dag_id,
            "run_id": run_id, "status": status, "is_champion": status == "champion", "artifact_path": path, **fields}


def register(settings: Settings, *, version: int, promote: bool, dag_id: str, run_id: str, metrics: dict,
             params: dict, training_snapshots: dict, failed_gates: list[str], artifact: str,
             model_name: str = MODEL_NAME) -> dict:
    """Replace this version's reserved row with the trained model at ``artifact``; with ``promote`` it
    becomes the only champion. One commit (redone on a fresh read if another commit came first)."""
    entry = _entry(model_name, version, dag_id, run_id, "champion" if promote else "rejected", artifact,
                   auc=metrics.get("auc"), metrics=json.dumps(metrics), params=json.dumps(params),
                   training_snapshots=json.dumps(training_snapshots), failed_gates=json.dumps(failed_gates))

    def write(table: Table) -> dict[str, Any]:
        rows = [r for r in table.scan().to_arrow().to_pylist()
                if not (r["model_name"] == model_name and r["version"] == version)]
        if promote:
            for r in rows:
                if r["model_name"] == model_name and r["is_champion"]:
                    r.update(is_champion=False, status="retired")
        with warnings.catch_warnings():  # the first registration has nothing to replace
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            table.overwrite(pa.Table.from_pylist([*rows, entry], schema=SCHEMA),
                            snapshot_properties={**run_properties(dag_id, run_id),
                                                 "ml.model": f"{model_name}:v{version}", "ml.promoted": str(promote)})
        return entry

    return _committed(settings, write)
