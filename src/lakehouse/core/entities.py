"""What each raw entity looks like (JSON schema, business key, required and count fields, from its contract)
and why a record is quarantined.

The contracts are read when :func:`entities` is first called, not when this module is imported: a DAG file
or a command that only needs table names (``lakehouse.core.names``) parses and runs even when a contract file
is broken, and the broken file is reported as a check and by ``lakehouse contracts lint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from lakehouse.core.contracts import Contract, ContractError, contracts_dir, lint_contracts, load_contracts
from lakehouse.core.names import (  # noqa: F401 (re-exported: the tables the layers write)
    MAINTAINED_TABLES,
    MERGE_ON_READ_TABLES,
    SILVER_TABLES,
    TOPICS,
    WAP_TABLES,
    bronze_table_name,
    silver_table_name,
)

MAX_PAYLOAD_BYTES = 512 * 1024
# A Kafka CreateTime outside [MIN_EVENT_TIME, ingestion + MAX_CLOCK_SKEW_HOURS] is an absurd event time.
MIN_EVENT_TIME = "2000-01-01 00:00:00"
MAX_CLOCK_SKEW_HOURS = 24


class Reason(StrEnum):
    """Why a Bronze record went to ``silver.quarantine``, in the order they are tested (first match wins)."""

    OVERSIZED = "oversized"
    BAD_TIMESTAMP = "bad_timestamp"  # CreateTime unrepresentable, before 2000 or > 24 h after ingestion
    MALFORMED_JSON = "malformed_json"
    BAD_TYPE = "bad_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_PLATFORM = "unknown_platform"
    NEGATIVE_COUNT = "negative_count"
    # Not a quarantine reason: a record of an erased subject (blanked in Bronze, or in the ledger) is counted as
    # erased and written nowhere; tested before every other reason.
    ERASED_SUBJECT = "erased_subject"


QUARANTINE_REASONS = tuple(r.value for r in Reason if r is not Reason.ERASED_SUBJECT)  # what a quarantine row holds



@dataclass(frozen=True)
class Entity:
    """One raw entity as the layers use it: everything but its topic comes from its contract."""

    name: str
    contract: Contract

    @property
    def silver_table(self) -> str:
        return self.contract.silver_table

    @property
    def json_schema(self) -> str:
        """Spark DDL of the raw JSON document."""
        return self.contract.spark_schema

    @property
    def key(self) -> tuple[str, ...]:
        return self.contract.key

    @property
    def required(self) -> tuple[str, ...]:
        return self.contract.required

    @property
    def counts(self) -> tuple[str, ...]:
        return self.contract.non_negative

    @property
    def topic(self) -> str:
        return TOPICS[self.name]

    @property
    def bronze_table(self) -> str:
        return bronze_table_name(self.topic)


def entity_of(contract: Contract) -> Entity:
    """The :class:`Entity` a contract declares; it must name a known topic and the Silver table of its entity."""
    if TOPICS.get(contract.entity) != contract.topic or contract.silver_table != silver_table_name(contract.entity):
        raise ContractError(f"contract {contract.source}: entity {contract.entity!r} reads topic "
                            f"{TOPICS.get(contract.entity)!r} into silver.kol_{contract.entity}")
    return Entity(contract.entity, contract)


def entities_from(directory: Path) -> dict[str, Entity]:
    """Every entity the contracts in ``directory`` declare, in the topics' order; :class:`ContractError` names
    the file and the rule it breaks."""
    contracts = load_contracts(directory)
    if set(contracts) != set(TOPICS):
        raise ContractError(f"{directory} must hold one contract per topic of {sorted(TOPICS.values())}")
    return {name: entity_of(contracts[name]) for name in TOPICS}


@cache
def entities() -> dict[str, Entity]:
    """The platform's entities, read from the contracts directory once per process (on first use)."""
    return entities_from(contracts_dir())


def contract_problems(directory: Path | None = None) -> list[str]:
    """One line per problem of the contracts (a file's own rules, then the rules across files): what
    ``lakehouse contracts lint`` prints and the nightly's ``contracts`` check FAILs with."""
    directory = directory or contracts_dir()
    problems = lint_contracts(directory)
    if not problems:
        try:
            entities_from(directory)
        except ContractError as exc:
            problems.append(str(exc))
    return problems
