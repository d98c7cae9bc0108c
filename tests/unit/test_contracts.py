"""Data contracts: the files are the one source of the entities; drift is found and judged as documented."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import BooleanType, LongType, NestedField, StringType

from lakehouse.core.checks import OFFENDING_ROWS, Status, offending_rows
from lakehouse.core.contracts import (
    CONTRACTS_DIR_ENV,
    ContractError,
    contracts_dir,
    load_contracts,
    parse_contract,
)
from lakehouse.core.entities import contract_problems, entities
from lakehouse.etl.drift import drift_pattern
from lakehouse.iceberg.snapshots import schema_change
from lakehouse.quality.contracts import judge_drift

PROFILES = entities()["profiles"]


def test_the_entities_are_read_from_the_contract_files():
    contracts = load_contracts(contracts_dir())
    assert {c.topic for c in contracts.values()} == {e.topic for e in entities().values()}
    assert PROFILES.key == ("platform", "kol_id") and PROFILES.contract == contracts["profiles"]
    assert PROFILES.json_schema.startswith("kol_id STRING, platform STRING, username STRING")
    assert "followers_count BIGINT" in PROFILES.json_schema and "verified BOOLEAN" in PROFILES.json_schema
    assert PROFILES.required == ("kol_id", "platform", "username")
    assert PROFILES.counts == ("followers_count", "following_count", "post_count", "favorites_count")


@pytest.mark.parametrize("broken, why", [
    ({"fields": {"a": {"type": "int"}}}, "needs a type"),
    ({"fields": {"a": {"type": "string", "nullable": True}}}, "needs a type"),
    ({"fields": {"a": {"type": "string", "non_negative": True}}}, "only a long"),
    ({"key": ["a"], "fields": {"a": {"type": "string"}}}, "must name required fields"),
    ({"owner": "me"}, "nothing but"),
])
def test_a_broken_contract_is_refused_with_the_rule_it_breaks(broken, why):
    doc = {"topic": "t", "entity": "e", "key": ["a"], "fields": {"a": {"type": "string", "required": True}}}
    with pytest.raises(ContractError, match=why):
        parse_contract({**doc, **broken}, "contracts/t.json")


def test_a_contract_file_must_be_named_after_its_topic(tmp_path):
    doc = {"topic": "kol-x-raw", "entity": "x", "key": ["a"], "fields": {"a": {"type": "string", "required": True}}}
    (tmp_path / "other.json").write_text(json.dumps(doc))
    with pytest.raises(ContractError, match="named <topic>.json"):
        load_contracts(tmp_path)


def _matches(doc: str) -> list[str]:
    """What the drift pattern finds in a raw payload (Python's re reads the same possessive syntax as Java)."""
    return [m.group(0) for m in re.finditer(drift_pattern(PROFILES.contract), doc)]


def test_the_drift_pattern_matches_only_what_is_wrong():
    clean = json.dumps({"kol_id": "k", "platform": "tiktok", "username": "u", "followers_count": -5, "url": None,
                        "verified": True, "bio": 'say "followers_count": "x", ok'})
    assert _matches(clean) == []  # negative counts, nulls and quotes inside a string are not drift
    assert _matches(clean.replace('"u"', "123")) == ['"username": 1']
    assert _matches(clean.replace("-5", '"5"')) == ['"followers_count": "']
    assert _matches(clean.replace("-5", "5.5")) == ['"followers_count": 5.']
    assert _matches(clean.replace("true", '"yes"')) == ['"verified": "']
    assert _matches(clean.replace('"url"', '"tier": 2, "url"')) == ['"tier":']


def test_new_fields_warn_and_a_retyped_field_fails_above_its_share():
    drift = {"records": 100, "findings": [
        {"field": "tier", "kind": "new", "observed": None, "count": 40, "samples": [[0, 1], [0, 2], [1, 7]]},
        {"field": "username", "kind": "retyped", "observed": "number", "count": 6, "samples": [[0, 3]]},
        {"field": "username", "kind": "missing", "observed": None, "count": 2, "samples": [[0, 9], [1, 4]]}]}
    new, missing, retyped = (judge_drift(PROFILES, kind, drift, 0.05) for kind in ("new", "missing", "retyped"))
    assert (new.check_id, new.status, new.observed) == ("contract.kol-profiles-raw.new_fields", Status.WARN, 1)
    assert "tier: 40 records, e.g. 0:1, 0:2, 1:7" in new.details
    assert (missing.status, missing.observed) == (Status.PASS, 0.02)  # quarantined, below 5 %
    assert (retyped.status, retyped.observed) == (Status.FAIL, 0.06)
    assert "username (number): 6 records" in retyped.details and OFFENDING_ROWS in retyped.details
    assert offending_rows(retyped.details) == [{"field": "username", "kafka_partition": 0, "kafka_offset": 3}]
    clean = {"records": 100, "findings": []}
    assert {judge_drift(PROFILES, k, clean, 0.05).status for k in ("new", "missing", "retyped")} == {Status.PASS}


def test_schema_change_by_field_id():
    old = Schema(NestedField(1, "a", StringType()), NestedField(2, "b", LongType()), NestedField(3, "c", StringType()))
    new = Schema(NestedField(1, "a2", StringType()), NestedField(2, "b", StringType()),
                 NestedField(4, "d", BooleanType()))
    change = schema_change(old, new)
    assert change.added == ("d",) and change.dropped == ("c",) and change.renamed == ("a -> a2",)
    assert change.retyped == ("b: long -> string",)
    assert not schema_change(old, old)


def _broken_contracts(tmp_path) -> Path:
    """A copy of the contracts directory whose videos contract makes a non-long count non-negative."""
    broken = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), broken)
    doc = json.loads((broken / "kol-videos-raw.json").read_text())
    doc["fields"]["title"] = {"type": "string", "non_negative": True}
    (broken / "kol-videos-raw.json").write_text(json.dumps(doc))
    return broken


def test_a_broken_contract_is_named_by_lint_and_every_dag_file_still_parses(tmp_path, monkeypatch):
    broken = _broken_contracts(tmp_path)
    [problem] = contract_problems(broken)
    assert "kol-videos-raw.json" in problem and "field 'title': only a long can be non_negative" in problem
    result = subprocess.run([str(Path(sys.executable).parent / "lakehouse"), "contracts", "lint", "--dir",
                             str(broken)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout.splitlines()[0] == problem and not result.stderr
    assert contract_problems(contracts_dir()) == []

    monkeypatch.setenv(CONTRACTS_DIR_ENV, str(broken))  # the scheduler's DAG processor, as it parses
    entities.cache_clear()  # a DAG file that read the contracts at parse time would now fail to import
    from airflow.dag_processing.dagbag import DagBag

    from lakehouse.config import Settings

    dags = Settings.from_env().dags_dir
    try:
        bag = DagBag(dag_folder=str(dags))
    finally:
        entities.cache_clear()
    assert not bag.import_errors and len(bag.dags) == len(list(dags.glob("kol_*.py")))  # every DAG file


def test_the_contracts_are_read_on_first_use_not_at_import():
    code = ("import sys; import lakehouse.core.entities, lakehouse.quality.lake_checks, lakehouse.etl.gold; "
            "import lakehouse.core.entities as e; print(e.entities.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"
