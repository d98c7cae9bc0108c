"""A DAG run's Params, typed from the DAG's trigger form to the Spark job (schemas: :mod:`lakehouse.core.params`).

``dag_params`` builds a DAG's ``Param`` objects from a job's schema; ``job_arguments`` renders the Params a
job takes as one JSON object for spark-submit (Jinja's ``tojson`` keeps each value's JSON type), which the
job validates against the same schema.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import Param

from lakehouse.core.params import JOB_PARAMS

RUN_IDS = ["--dag-id", "{{ dag.dag_id }}", "--run-id", "{{ run_id }}"]


def dag_params(job: str, **defaults: Any) -> dict[str, Param]:  # Any: each Param's JSON-schema type
    """``{name: Param}`` for every Param of ``job``'s schema, with ``defaults`` (else the schema's default)."""
    def param(name: str, schema: dict[str, Any]) -> Param:
        rules = {k: v for k, v in schema.items() if k != "default"}
        return Param(defaults.get(name, schema.get("default")), **rules)

    return {name: param(name, schema) for name, schema in JOB_PARAMS[job].items()}


def params_template(job: str) -> str:
    """The Jinja template rendering ``job``'s Params as one JSON object; a Param the running DAG does not
    declare takes the schema's default (kol_platform_e2e runs bronze_to_silver without ``full_rebuild``)."""
    def value(name: str, schema: dict[str, Any]) -> str:
        if "default" in schema:
            return f"params.get({name!r}, {json.dumps(schema['default'])})"
        return f"params[{name!r}]"

    pairs = ", ".join(f"{name!r}: {value(name, schema)}" for name, schema in JOB_PARAMS.get(job, {}).items())
    return "{{ {" + pairs + "} | tojson }}"


def job_arguments(job: str, *, branch: str | None = None, with_params: bool = True) -> list[str]:
    """spark-submit arguments of ``job``: the run's ids, its WAP branch if given, and its Params as JSON
    (``with_params=False``: none, the job's own defaults apply)."""
    params = ["--params", params_template(job)] if with_params else []
    return [*RUN_IDS, *(["--branch", branch] if branch else []), *params]
