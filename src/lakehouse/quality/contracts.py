"""What a run changed in the shape of the data: payload drift against each topic's contract, and the
Iceberg schema of every table it wrote.

Both judge the change of one WAP run, so they run in the audit only (the nightly judges whole tables):

- ``contract.<topic>.new_fields``: payload fields the contract does not declare. WARN: the data still
  lands, but the contract (and Silver, if the field matters) needs a look.
- ``contract.<topic>.missing_required`` and ``.retyped``: FAIL when the worst field's share of the run's
  records is above ``contract_max_share``; below it, those records are quarantined with a reason code and
  the check passes, naming them.
- ``schema.<table>``: the columns the branch's schema adds (WARN: a newer release writes them), drops,
  retypes or renames (FAIL: a reader of ``main`` breaks) over ``main``'s.

Every finding names its field, its record count and the Kafka coordinates of three records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.core.checks import OFFENDING_ROWS, CheckResult, Status
from lakehouse.core.entities import Entity
from lakehouse.core.names import CONTRACT_DRIFT, MAIN, layer_of
from lakehouse.etl.drift import MISSING, NEW, RETYPED
from lakehouse.iceberg.snapshots import (
    commits_between,
    ref_snapshot_id,
    schema_change,
    schema_of,
    summary,
    table_or_none,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

KIND_CHECKS = {NEW: "new_fields", MISSING: "missing_required", RETYPED: "retyped"}


def run_drift(silver_table: Table | None, branch: str) -> dict[str, Any] | None:
    """The drift report of the branch's newest Silver commit that has one (the run's MERGE; a later commit
    on the branch, an UPDATE, has none), or None when the branch holds no such commit over ``main``."""
    head = ref_snapshot_id(silver_table, branch)
    if silver_table is None or head is None:
        return None
    for snapshot in commits_between(silver_table, ref_snapshot_id(silver_table, MAIN), head):
        if raw := summary(snapshot).get(CONTRACT_DRIFT):
            drift: dict[str, Any] = json.loads(raw)
            return drift
    return None


def contract_checks(catalog: Catalog, entity: Entity, branch: str, settings: Settings) -> list[CheckResult]:
    """The three contract checks of one topic for this run's records (SKIP when the run read none)."""
    drift = run_drift(table_or_none(catalog, entity.silver_table), branch)
    if drift is None:
        return [CheckResult(f"contract.{entity.topic}.{name}", "bronze", entity.bronze_table, Status.SKIP,
                            details="no new records of this topic in this run") for name in KIND_CHECKS.values()]
    return [judge_drift(entity, kind, drift, settings.contract_max_share) for kind in KIND_CHECKS]


def judge_drift(entity: Entity, kind: str, drift: dict[str, Any], max_share: float) -> CheckResult:
    """One kind of drift: new fields WARN; missing or retyped fields FAIL above ``max_share`` of the records."""
    records = max(int(drift["records"]), 1)
    found = [f for f in drift["findings"] if f["kind"] == kind]
    worst = max((f["count"] for f in found), default=0)
    observed: float
    if kind == NEW:
        status, observed, threshold = (Status.WARN if found else Status.PASS), len(found), "0 undeclared fields"
    else:
        observed, threshold = round(worst / records, 4), f"<= {max_share} of {drift['records']} records"
        status = Status.FAIL if worst / records > max_share else Status.PASS
    details = "; ".join(describe(f) for f in found) or f"none in {drift['records']} records"
    samples = [{"field": f["field"], "kafka_partition": p, "kafka_offset": o} for f in found for p, o in f["samples"]]
    if samples and status != Status.PASS:
        details += f"; {OFFENDING_ROWS}{json.dumps(samples)}"
    return CheckResult(f"contract.{entity.topic}.{KIND_CHECKS[kind]}", "bronze", entity.bronze_table, status,
                       observed, threshold, details)


def describe(finding: dict[str, Any]) -> str:
    """``username (number): 12 records, e.g. 0:15, 0:17, 1:3``."""
    observed = f" ({finding['observed']})" if finding.get("observed") else ""
    at = ", ".join(f"{p}:{o}" for p, o in finding["samples"])
    return f"{finding['field']}{observed}: {finding['count']} records, e.g. {at}"


def schema_checks(catalog: Catalog, tables: Iterable[str], branch: str) -> list[CheckResult]:
    """``schema.<table>`` for each table the branch wrote: its schema against ``main``'s."""
    results = []
    for name in tables:
        table = table_or_none(catalog, name)
        head = ref_snapshot_id(table, branch)
        if table is None or head is None:
            continue
        change = schema_change(schema_of(table, ref_snapshot_id(table, MAIN)), schema_of(table, head))
        breaking = [*(f"dropped {c}" for c in change.dropped), *(f"retyped {c}" for c in change.retyped),
                    *(f"renamed {c}" for c in change.renamed)]
        status = Status.FAIL if breaking else Status.WARN if change.added else Status.PASS
        details = "; ".join([*breaking, *(f"added {c}" for c in change.added)]) or "same columns as main"
        results.append(CheckResult(f"schema.{name}", layer_of(name), name, status,
                                   len(breaking) + len(change.added), "0 column changes", details))
    return results
