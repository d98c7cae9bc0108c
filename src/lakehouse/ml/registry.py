"""``ml.model_registry``: every trained trust model, its metrics and lineage, and which one is champion.

A registration (and a promotion) is one Iceberg commit that rewrites the small
registry table, so the champion flips atomically: readers see the old champion
or the new one, never two or none. Registering again from the same Airflow run
replaces that run's row (retries never add versions).
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.config import Settings, get_settings
from lakehouse.core.names import REGISTRY_TABLE, run_properties
from lakehouse.iceberg.catalog import ensure_table, get_catalog

MODEL_NAME = "trust"
SCHEMA = pa.schema([
    pa.field("model_name", pa.string(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("dag_id", pa.string()),
    pa.field("run_id", pa.string()),
    pa.field("status", pa.string(), nullable=False),  # champion | retired | rejected
    pa.field("is_champion", pa.bool_(), nullable=False),
    pa.field("auc", pa.float64()),
    pa.field("metrics", pa.string()),  # JSON
    pa.field("params", pa.string()),  # JSON
    pa.field("training_snapshots", pa.string()),  # JSON {table: snapshot id}
    pa.field("artifact_path", pa.string(), nullable=False),
    pa.field("failed_gates", pa.string()),  # JSON list
])


def registry_table(settings: Settings):
    return ensure_table(get_catalog(settings), REGISTRY_TABLE, SCHEMA)


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


def reserve_version(settings: Settings, run_id: str, model_name: str = MODEL_NAME) -> int:
    """The version this run registers: its earlier attempt's, else one past the newest."""
    rows = entries(settings, model_name)
    for r in rows:
        if run_id and r["run_id"] == run_id:
            return r["version"]
    return max((r["version"] for r in rows), default=0) + 1


def artifact_path(settings: Settings, version: int, model_name: str = MODEL_NAME) -> str:
    return f"{settings.warehouse_uri.rstrip('/')}/models/{model_name}/v{version}"


def register(settings: Settings, *, version: int, promote: bool, dag_id: str, run_id: str, metrics: dict,
             params: dict, training_snapshots: dict, failed_gates: list[str], model_name: str = MODEL_NAME) -> dict:
    """Add (or replace this run's) entry; with ``promote`` it becomes the only champion. One commit."""
    table = registry_table(settings)
    rows = [r for r in table.scan().to_arrow().to_pylist()
            if not (r["model_name"] == model_name and (r["version"] == version or (run_id and r["run_id"] == run_id)))]
    if promote:
        for r in rows:
            if r["model_name"] == model_name and r["is_champion"]:
                r.update(is_champion=False, status="retired")
    entry = {
        "model_name": model_name, "version": version, "created_at": datetime.now(UTC), "dag_id": dag_id,
        "run_id": run_id, "status": "champion" if promote else "rejected", "is_champion": promote,
        "auc": metrics.get("auc"), "metrics": json.dumps(metrics), "params": json.dumps(params),
        "training_snapshots": json.dumps(training_snapshots),
        "artifact_path": artifact_path(settings, version, model_name), "failed_gates": json.dumps(failed_gates),
    }
    with warnings.catch_warnings():  # the first registration has nothing to replace
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table.overwrite(pa.Table.from_pylist([*rows, entry], schema=SCHEMA),
                        snapshot_properties={**run_properties(dag_id, run_id),
                                             "ml.model": f"{model_name}:v{version}", "ml.promoted": str(promote)})
    return entry
