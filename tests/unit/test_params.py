"""A DAG run's Params reach a Spark job as their JSON types: one schema per job builds the DAG's Params, one
template renders them for spark-submit, and the job validates them against the same schema."""

from __future__ import annotations

import json

import jinja2
import pytest

from lakehouse.core.errors import InvalidParamsError, is_data_breach
from lakehouse.core.params import JOB_PARAMS, validated
from lakehouse.orchestration.params import dag_params, job_arguments, params_template


def _render(template: str, params: dict) -> dict:
    """As Airflow renders a templated argument: strict about undefined names."""
    return json.loads(jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(params=params))


def test_a_boolean_param_reaches_the_job_as_a_boolean():
    template = params_template("bronze_to_silver")
    assert _render(template, {"full_rebuild": True}) == {"full_rebuild": True}
    assert _render(template, {}) == {"full_rebuild": False}  # a DAG without the Param: the schema's default
    assert validated("bronze_to_silver", {"full_rebuild": True}) == {"full_rebuild": True}
    with pytest.raises(InvalidParamsError, match="full_rebuild: 'True' is not of type 'boolean'"):
        validated("bronze_to_silver", {"full_rebuild": "True"})  # what a rendered "{{ params.x }}" was


@pytest.mark.parametrize("job", sorted(JOB_PARAMS))
def test_every_dag_param_of_a_job_round_trips_through_its_arguments(job):
    params = {name: param.value for name, param in dag_params(job, **_defaults(job)).items()}
    args = job_arguments(job)
    assert args[args.index("--params") + 1] == params_template(job)
    assert validated(job, _render(params_template(job), params)) == params


def _example(schema: dict):
    """A value that fits ``schema``: the smallest allowed number, one allowed item."""
    if schema["type"] == "array":
        return schema["items"].get("enum", ["silver.kol_profiles"])[:1]
    return {"integer": 1, "number": schema.get("minimum", 0.0) + 0.5, "boolean": True}[schema["type"]]


# Params whose value has a shape of its own (a pattern, not a type)
EXAMPLES = {"subjects": ["tiktok:ti_0000001"], "request_id": "GDPR-1", "reason": "GDPR Art. 17",
            "since": "2026-12-01T00:00:00+00:00", "until": ""}


def _defaults(job: str) -> dict:
    return {name: EXAMPLES[name] if name in EXAMPLES else _example(schema) for name, schema in JOB_PARAMS[job].items()}


def test_a_bad_param_fails_without_retries_naming_it():
    with pytest.raises(InvalidParamsError) as caught:
        validated("maintain_lake", {**_defaults("maintain_lake"), "retain_last": 0})
    assert "retain_last: 0 is less than the minimum of 1" in str(caught.value) and is_data_breach(caught.value)
    with pytest.raises(InvalidParamsError, match="Additional properties are not allowed"):
        validated("silver_to_gold", {"full_rebuild": True})  # a job takes only its own Params
    with pytest.raises(InvalidParamsError, match="tables.0: 'silver.kol_profile' is not one of"):
        validated("maintain_lake", {**_defaults("maintain_lake"), "tables": ["silver.kol_profile"]})
