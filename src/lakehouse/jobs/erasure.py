"""``kol_erasure``: erase subjects from every layer and its history, then prove it (``lakehouse erase`` too).

The order matters for safety, not only for tidiness:

1. the request is validated whole and the lake checked settled (no increment waiting), before anything;
2. the ledger records the subjects (salted hashes) first, so a record arriving meanwhile is refused;
3. the rows are erased, bookkeeping carried, history purged (:mod:`lakehouse.etl.erasure`);
4. the hot path is republished from the erased Gold and every older Redis version dropped;
5. the state dir's text files are redacted, then everything is searched (:mod:`lakehouse.quality.erasure`);
6. the ledger marks the request erased only when the proof passed.

A re-run of an unfinished request erases by the plan its first run recorded (a kill mid-way is completed);
a re-run of a finished one changes nothing and proves again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.erasure import ErasureRequest, parse_request
from lakehouse.core.errors import DataBreach
from lakehouse.core.names import BRONZE_TABLES, ERASURE_REQUEST, run_properties
from lakehouse.etl import erasure as lake
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.ledger import ERASED, REQUESTED, record_status, recorded_request
from lakehouse.ingest.bronze_table import ensure_bronze_table
from lakehouse.quality import erasure as proof
from lakehouse.quality.store import record
from lakehouse.spark.phases import phase

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SOURCE = "erasure"


class ErasureProofError(DataBreach):
    """The proof found a subject somewhere after the erasure: the run fails naming the places."""


def request_from(params: dict[str, Any]) -> ErasureRequest:
    return parse_request(list(params.get("subjects") or []), str(params.get("request_id") or ""),
                         str(params.get("reason") or ""))


def erase_subjects(spark: SparkSession, *, dag_id: str = "", run_id: str = "", params: dict[str, Any] | None = None,
                   **_: object) -> dict[str, Any]:
    """Erase the request's subjects everywhere, prove it, record the proof; raises when the proof fails."""
    settings = get_settings()
    request = request_from(params or {})
    started = time.time()
    catalog = get_catalog(settings)
    found = lake.find(spark, catalog, request)
    recorded = recorded_request(settings, request.request_id)
    finished = recorded is not None and recorded[0] == ERASED
    plan = recorded[1] if recorded is not None else {"rows": found.rows,
                                                     "quarantined_by_source": found.quarantined_by_source}
    work: list[CheckResult] = []
    to_erase = sum(plan["rows"].values())  # 0: nothing of theirs in the lake; refused from now on, proved
    if not finished:
        if to_erase:
            lake.check_settled(catalog)  # before anything is touched, the ledger included
        record_status(settings, request, REQUESTED, plan, dag_id=dag_id, run_id=run_id)
        if to_erase:
            work = erase(spark, settings, request, lake.Found(plan["rows"], plan["quarantined_by_source"],
                                                              found.identifiers),
                         props={ERASURE_REQUEST: request.request_id, **run_properties(dag_id, run_id)},
                         started_ms=int(started * 1000))
    checks = [*work, *prove(spark, settings, request, found.identifiers)]
    failed = [c for c in checks if c.status is Status.FAIL]
    if not failed and not finished:
        record_status(settings, request, ERASED, plan, dag_id=dag_id, run_id=run_id)
    record(settings, dag_id=dag_id, run_id=run_id, source=f"{SOURCE}:{request.request_id}", results=checks)
    result = {"request_id": request.request_id, "subjects": len(request.subjects), "already_erased": finished,
              "rows": plan["rows"], "checks": [c.to_dict() for c in checks], "seconds": round(time.time() - started, 3)}
    if failed:
        raise ErasureProofError(f"erasure {request.request_id}: the proof found the subjects in "
                                + "; ".join(f"{c.check_id} ({c.details})" for c in failed))
    return result


def erase(spark: SparkSession, settings: Settings, request: ErasureRequest, found: lake.Found, *,
          props: dict[str, str], started_ms: int) -> list[CheckResult]:
    """Steps 3-5 of the module doc; one PASS row per table with what was rewritten and purged."""
    catalog = get_catalog(settings)
    for topic, table in BRONZE_TABLES.items():  # a Bronze table from before erasure existed gains erased_by
        if catalog.table_exists(table):
            ensure_bronze_table(catalog, topic)
    with phase("erasure.redact"):  # first: what names the subjects is still readable now, not after a kill
        redacted = proof.redact_files(settings, found.identifiers)
        erased = lake.redact_text(spark, catalog, found.identifiers, props)
    erased.update(lake.erase_rows(spark, catalog, request, found, props))
    with phase("erasure.bookkeeping"):
        committed = lake.carry_bookkeeping(catalog, erased, lake.totals_delta(found), props)
    with phase("erasure.purge"):
        purged = lake.purge_history(spark, catalog, started_ms)
    rows = [CheckResult("erasure.redact.state_dir", "audit", "state_dir", Status.PASS, sum(redacted.values()),
                        "completes", f"{len(redacted)} text file(s) rewritten with the subjects redacted")]
    for name, done in purged.items():
        change = erased.get(name, lake.TableErasure(name))
        figures = {"rows": change.rows, "files_rewritten": change.files_rewritten,
                   "bytes_rewritten": change.bytes_rewritten, "bookkeeping_snapshot": committed.get(name),
                   "refs_dropped": len(done.refs_dropped), "snapshots_expired": done.snapshots_expired,
                   "orphans_removed": done.orphans_removed}
        rows.append(CheckResult(f"erasure.purge.{name}", name.split(".", 1)[0], name, Status.PASS, figures,
                                "completes", ", ".join(f"{k} {v}" for k, v in figures.items())))
    rows.append(republish(settings))
    return rows


def republish(settings: Settings) -> CheckResult:
    """The hot path from the erased Gold, then every other version dropped (the one before it held the
    subjects: a reader mid-page moves to the new version on its next read)."""
    from lakehouse.serving.redis_publish import current_version, drop_versions, publish_gold, redis_client

    client = redis_client(settings)
    if current_version(client) is None:
        return CheckResult("erasure.republish", "serving", "redis", Status.PASS, 0, "completes",
                           "nothing published yet")
    published = publish_gold(settings)
    removed = drop_versions(client, {current_version(client)})
    return CheckResult("erasure.republish", "serving", "redis", Status.PASS, published["version"], "completes",
                       f"version {published['version']} published from the erased Gold; {removed} key(s) of older "
                       "versions removed")


def prove(spark: SparkSession, settings: Settings, request: ErasureRequest, identifiers: tuple[str, ...]) -> list[CheckResult]:
    """Every place of :mod:`lakehouse.quality.erasure`, and the ledger."""
    checks = proof.table_checks(spark, request, identifiers, lake.SEARCHED_TABLES)
    checks += proof.places_checks(settings, request, identifiers)
    checks.append(proof.redis_check(settings, identifiers))
    checks += proof.kafka_checks(settings)
    checks.append(ledger_check(settings, request))
    return checks


def ledger_check(settings: Settings, request: ErasureRequest) -> CheckResult:
    """Every subject of the request is in the ledger, so ingestion and Silver refuse its records from now on."""
    from lakehouse.iceberg.ledger import erased_hashes, request_hashes

    missing = len(request_hashes(settings, request) - erased_hashes(settings))
    return CheckResult("erasure.ledger", "audit", "audit.erasure_ledger", Status.FAIL if missing else Status.PASS,
                       missing, "== 0", f"{len(request.subjects)} subject(s) as salted hashes: {missing} missing")
