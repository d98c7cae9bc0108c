"""``kol_ingest`` (and the e2e run's ingest): Kafka -> Bronze for one topic, then reconciliation."""

from __future__ import annotations

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.ingest.writer import IngestResult
from lakehouse.orchestration.errors import fail_fast_on_breach
from lakehouse.orchestration.hooks import KafkaConnectionHook
from lakehouse.quality.reconcile import reconcile
from lakehouse.quality.store import record


def ingest_and_reconcile(topic: str, *, dag_id: str, run_id: str, params: dict | None = None,
                         settings: Settings | None = None) -> dict:
    """Kafka -> Bronze for one topic, then reconcile the table against its offset bookkeeping.

    The broker endpoint comes from the ``kafka_default`` Airflow connection when
    it exists (else settings). A reconciliation mismatch fails without retries.
    """
    params = params or {}
    settings, overrides = KafkaConnectionHook().resolve(settings or get_settings())
    result = ingest_topic(
        topic, settings, dag_id=dag_id, run_id=run_id,
        max_records=params.get("max_records"), max_seconds=params.get("max_seconds"),
        batch_size=int(params.get("batch_size") or 50_000), client_overrides=overrides,
        connect_timeout=settings.kafka_connect_timeout, rebaseline=bool(params.get("rebaseline")),
    )
    if result.rebaselined:
        record(settings, dag_id=dag_id, run_id=run_id, source=f"ingest_{topic}", results=[rebaseline_check(result)])
    with fail_fast_on_breach():
        partitions = reconcile(get_catalog(settings).load_table(result.table), topic, since=result.started_from)
    out = result.to_dict()
    out["reconciled"] = {str(p): r for p, r in partitions.items()}
    print(f"{topic}: +{result.rows} rows in {result.batches} commit(s), {result.redelivered} redelivered "
          f"skipped, stopped at {result.stopped_because}; reconciled {len(partitions)} partition(s)")
    return out


def rebaseline_check(result: IngestResult) -> CheckResult:
    """A deliberate re-baseline onto a new broker log, kept in the check history (WARN: someone should know)."""
    return CheckResult(f"ingest.rebaseline.{result.table.split('.', 1)[1]}", "bronze", result.table, Status.WARN,
                       result.epoch, "re-baselined on request",
                       f"{result.topic}: new broker log (topic id {result.rebaselined}); epoch {result.epoch} "
                       f"starts at offsets {result.ranges or result.next_offsets}")
