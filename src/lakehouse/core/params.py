"""What each Spark job accepts from its DAG run's Params, as JSON Schema: the one place both sides read.

A DAG builds its Params from these schemas (``lakehouse.orchestration.params.dag_params``), the operator
hands them to spark-submit as one JSON object (``job_arguments``), and the job validates that object against
the same schema before it starts (``validated``), so a Param reaches the job as its type — a boolean as a
boolean, never a rendered ``"True"`` parsed by hand — and a bad value fails at once, without retries.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.entities import QUARANTINE_REASONS
from lakehouse.core.erasure import MAX_REASON_CHARS, MAX_SUBJECTS, REQUEST_ID_PATTERN, SUBJECT_PATTERN
from lakehouse.core.errors import InvalidParamsError
from lakehouse.core.names import MAINTAINED_TABLES, NIGHTLY_LAYERS

Schema = dict[str, Any]  # a JSON Schema object, as Airflow's Param and jsonschema take it
ISO_TIME_OR_EMPTY = r"^$|^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$"


def _positive(kind: str, description: str) -> Schema:
    return {"type": kind, "minimum": 1, "description": description}


JOB_PARAMS: dict[str, dict[str, Schema]] = {
    "bronze_to_silver": {
        "full_rebuild": {"type": "boolean", "default": False, "description": "reprocess all of Bronze"},
    },
    "train_trust_model": {
        "seed": {"type": "integer", "description": "train/holdout split and model seed"},
        "min_auc": {"type": "number", "minimum": 0.5, "maximum": 1.0, "description": "holdout AUC gate"},
        "champion_margin": {"type": "number", "minimum": 0.0, "maximum": 0.5,
                            "description": "how far the challenger's AUC may trail the champion's"},
        "reg_param": {"type": "number", "minimum": 0.0, "description": "L2 regularization"},
    },
    "maintain_lake": {
        "snapshot_retention_hours": _positive("number", "expire snapshots older than this"),
        "retain_last": _positive("integer", "...but keep at least this many per table"),
        "branch_retention_hours": _positive("number", "drop audit branches older than this"),
        "orphan_min_age_hours": _positive("number", "only remove unreferenced files older than this"),
        "check_history_days": _positive("number", "keep audit.check_results rows this long"),
        "report_retention_days": _positive("number", "keep run report files this long"),
        "tables": {"type": "array", "items": {"type": "string", "enum": list(MAINTAINED_TABLES)},
                   "uniqueItems": True, "description": "only these tables (empty: all)"},
    },
    "erase_subjects": {
        "subjects": {"type": "array", "items": {"type": "string", "pattern": SUBJECT_PATTERN.pattern},
                     "minItems": 1, "maxItems": MAX_SUBJECTS, "uniqueItems": True,
                     "description": "the data subjects, each platform:kol_id (e.g. tiktok:ti_0000001)"},
        "request_id": {"type": "string", "pattern": REQUEST_ID_PATTERN.pattern,
                       "description": "the request's own id (a ticket number): the report and checks go by it"},
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_CHARS,
                   "description": "the legal ground, e.g. GDPR Art. 17 (no personal data here)"},
    },
    "replay_quarantine": {
        "reasons": {"type": "array", "items": {"type": "string", "enum": list(QUARANTINE_REASONS)}, "minItems": 1,
                    "uniqueItems": True, "description": "replay the records quarantined for these reason codes"},
        "since": {"type": "string", "default": "", "pattern": ISO_TIME_OR_EMPTY,
                  "description": "only records quarantined at or after this time (ISO 8601; empty: any)"},
        "until": {"type": "string", "default": "", "pattern": ISO_TIME_OR_EMPTY,
                  "description": "only records quarantined at or before this time (ISO 8601; empty: any)"},
        "dry_run": {"type": "boolean", "default": False,
                    "description": "count, per reason, what would move; write nothing"},
    },
    "quality_checks": {
        "layers": {"type": "array", "items": {"type": "string", "enum": list(NIGHTLY_LAYERS)}, "minItems": 1,
                   "uniqueItems": True, "description": "layers to check"},
        "tables": {"type": "array", "items": {"type": "string"},
                   "description": "only these tables, e.g. silver.kol_profiles (empty: all)"},
    },
}


def schema_of(job: str) -> Schema:
    """The JSON Schema of ``job``'s ``--params`` object: its Params and nothing else (a job without Params
    takes an empty object)."""
    return {"type": "object", "properties": JOB_PARAMS.get(job, {}), "additionalProperties": False}


def validated(job: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` if they fit ``job``'s schema, else :class:`InvalidParamsError` naming the Param and why."""
    import jsonschema  # the validator Airflow's Params use too; pure Python, loaded when a job starts

    try:
        jsonschema.validate(params, schema_of(job))
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "params"
        raise InvalidParamsError(f"{job}: {where}: {exc.message}") from None
    return params
