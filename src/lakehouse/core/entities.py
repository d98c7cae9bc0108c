"""What each raw entity looks like (JSON schema, business key, required and count fields, from its contract);
quarantine reasons; which tables the layers write."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lakehouse.core.contracts import CONTRACTS_DIR, Contract, ContractError, load_contracts
from lakehouse.core.names import (
    BRONZE_TABLES,
    CHECK_RESULTS_TABLE,
    COLUMN_METRICS_TABLE,
    GOLD_SUMMARY_TABLE,
    LABELS_TABLE,
    QUARANTINE_TABLE,
    REGISTRY_TABLE,
    SCORE_REFERENCE_TABLE,
    TOPICS,
    bronze_table_name,
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
    if TOPICS.get(contract.entity) != contract.topic or contract.silver_table != f"silver.kol_{contract.entity}":
        raise ContractError(f"contract {contract.source}: entity {contract.entity!r} reads topic "
                            f"{TOPICS.get(contract.entity)!r} into silver.kol_{contract.entity}")
    return Entity(contract.entity, contract)


_CONTRACTS = load_contracts()
if set(_CONTRACTS) != set(TOPICS):
    raise ContractError(f"{CONTRACTS_DIR} must hold one contract per topic of {sorted(TOPICS.values())}")
ENTITIES = {name: entity_of(_CONTRACTS[name]) for name in TOPICS}  # in the topics' order

SILVER_TABLES = tuple(e.silver_table for e in ENTITIES.values())
# Every table a transform run writes on its WAP branch (and publishes together).
WAP_TABLES = (*SILVER_TABLES, QUARANTINE_TABLE, GOLD_SUMMARY_TABLE, SCORE_REFERENCE_TABLE)
# Written by Spark MERGE/UPDATE as merge-on-read: their delete files need rewriting.
MERGE_ON_READ_TABLES = WAP_TABLES
# Every table kol_lake_maintenance looks after.
MAINTAINED_TABLES = (*BRONZE_TABLES.values(), *WAP_TABLES, LABELS_TABLE, REGISTRY_TABLE, CHECK_RESULTS_TABLE,
                     COLUMN_METRICS_TABLE)
