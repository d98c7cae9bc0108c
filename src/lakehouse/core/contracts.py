"""Data contracts: what each raw topic promises, declared in ``contracts/<topic>.json``.

A contract names the topic's fields with their JSON types, which are required,
which counts may never be negative, and the fields that form the business key.
It is the one source of :mod:`lakehouse.core.entities` (how Silver parses a
payload, what it quarantines, which key it upserts by) and of the drift report
Silver writes per run (new, missing and retyped fields against the contract).
A contract is reviewed like code: a file that breaks a rule below is refused
(by ``lakehouse contracts lint``, and as a FAIL of the nightly naming the file and
the rule), never half-applied.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any  # a contract file's JSON, before it is checked

from lakehouse.core.project import find_project_dir

# The contracts directory: the setting ``contracts_dir`` of ``lakehouse.config`` reads the same variable.
CONTRACTS_DIR_ENV = "LAKEHOUSE_CONTRACTS_DIR"
# A contract's JSON types and the Spark types Silver parses them as.
SPARK_TYPES = {"string": "STRING", "long": "BIGINT", "boolean": "BOOLEAN"}
CONTRACT_KEYS = {"topic", "entity", "description", "silver_table", "key", "fields"}
FIELD_KEYS = {"type", "required", "non_negative", "description"}


class ContractError(ValueError):
    """A contract file is not a valid contract (the message names the file and the rule)."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # one of SPARK_TYPES
    required: bool = False
    non_negative: bool = False

    @property
    def spark_type(self) -> str:
        return SPARK_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    topic: str
    entity: str
    silver_table: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def non_negative(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.non_negative)

    @property
    def spark_schema(self) -> str:
        """The Spark DDL Silver parses a payload with: every field, typed as declared."""
        return ", ".join(f"{f.name} {f.spark_type}" for f in self.fields)


def parse_contract(doc: dict[str, Any], source: str = "") -> Contract:
    """A :class:`Contract` from a contract file's JSON; :class:`ContractError` says what is wrong."""
    def refuse(why: str) -> ContractError:
        return ContractError(f"contract {source or doc.get('topic', '?')}: {why}")

    if not isinstance(doc, dict) or set(doc) - CONTRACT_KEYS or not {"topic", "entity", "key", "fields"} <= set(doc):
        raise refuse(f"needs topic, entity, silver_table, key and fields, and nothing but {sorted(CONTRACT_KEYS)}")
    fields = []
    for name, spec in dict(doc["fields"]).items():
        if not isinstance(spec, dict) or set(spec) - FIELD_KEYS or spec.get("type") not in SPARK_TYPES:
            raise refuse(f"field {name!r} needs a type of {sorted(SPARK_TYPES)} and only {sorted(FIELD_KEYS)}")
        if spec.get("non_negative") and spec["type"] != "long":
            raise refuse(f"field {name!r}: only a long can be non_negative")
        fields.append(Field(name, spec["type"], bool(spec.get("required")), bool(spec.get("non_negative"))))
    contract = Contract(doc["topic"], doc["entity"], doc.get("silver_table", ""), tuple(doc["key"]), tuple(fields),
                        source)
    if not contract.key or set(contract.key) - set(contract.required):
        raise refuse(f"the key {list(contract.key)} must name required fields")
    return contract


def contracts_dir() -> Path:
    """Where the contracts are: ``LAKEHOUSE_CONTRACTS_DIR``, else the project's ``contracts/``
    (:func:`~lakehouse.core.project.find_project_dir`)."""
    if os.environ.get(CONTRACTS_DIR_ENV):
        return Path(os.environ[CONTRACTS_DIR_ENV]).expanduser()
    return find_project_dir() / "contracts"


def read_contract(path: Path) -> Contract:
    """The contract in one file; :class:`ContractError` names the file and the rule it breaks (not JSON, a
    rule of :func:`parse_contract`, not named after its topic)."""
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ContractError(f"contract {path}: not JSON ({exc})") from None
    contract = parse_contract(doc, str(path))
    if path.stem != contract.topic:
        raise ContractError(f"contract {path}: must be named <topic>.json, one per entity")
    return contract


def lint_contracts(directory: Path) -> list[str]:
    """One line per problem of the contract files in ``directory`` (empty: every file is a valid contract)."""
    problems = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            read_contract(path)
        except ContractError as exc:
            problems.append(str(exc))
    return problems


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """Every ``<topic>.json`` in ``directory`` (default: :func:`contracts_dir`), by entity; a file must be
    named after its topic."""
    contracts: dict[str, Contract] = {}
    for path in sorted(Path(directory or contracts_dir()).glob("*.json")):
        contract = read_contract(path)
        if contract.entity in contracts:
            raise ContractError(f"contract {path}: must be named <topic>.json, one per entity")
        contracts[contract.entity] = contract
    return contracts
