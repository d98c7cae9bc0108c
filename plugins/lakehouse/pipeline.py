"""Task bodies of the DAGs: plain functions, so DAG files stay wiring and tests can call them."""

from __future__ import annotations

import contextlib
import time

from lakehouse.config import PLATFORMS, Settings, get_settings
from lakehouse.quality.results import CheckResult, Status, gate

E2E_TASKS = ("produce_synthetic", "ingest_topic", "bronze_to_silver", "silver_to_gold", "audit_branch",
             "publish_branch", "count_layers", "publish_redis")


def produce_synthetic(params: dict, settings: Settings | None = None) -> dict:
    from lakehouse.datagen import DatasetSpec, generate
    from lakehouse.datagen.producer import produce_records
    from lakehouse.kafka import ensure_topics

    settings = settings or get_settings()
    started = time.monotonic()
    spec = DatasetSpec(
        profiles=int(params["profiles"]),
        bad_fraction=float(params["bad_fraction"]),
        seed=int(params["seed"]),
        videos_per_profile=float(params.get("videos_per_profile", 3.0)),
        comments_per_video=float(params.get("comments_per_video", 1.5)),
    )
    dataset = generate(spec)
    ensure_topics(settings)
    produced = produce_records(dataset.all_records(), settings)
    expected = dataset.counts()
    if produced != expected:
        raise RuntimeError(f"broker acknowledged {produced} but {expected} were sent")
    return {"produced": produced, "manifest": dataset.manifest(), "seconds": round(time.monotonic() - started, 3)}


def ingest(topic: str, *, dag_id: str, run_id: str, params: dict | None = None,
           settings: Settings | None = None) -> dict:
    """Kafka -> Bronze for one topic, then reconcile the table against its offset bookkeeping.

    The broker endpoint comes from the ``kafka_default`` Airflow connection when
    it exists (else settings). A reconciliation mismatch fails without retries.
    """
    from lakehouse.catalog import get_catalog
    from lakehouse.hooks.kafka import KafkaConnectionHook
    from lakehouse.ingest.bronze import ingest_topic, reconcile

    params = params or {}
    settings, overrides = KafkaConnectionHook().resolve(settings or get_settings())
    result = ingest_topic(
        topic, settings, dag_id=dag_id, run_id=run_id,
        max_records=params.get("max_records"), max_seconds=params.get("max_seconds"),
        batch_size=int(params.get("batch_size") or 50_000), client_overrides=overrides,
        connect_timeout=settings.kafka_connect_timeout,
    )
    with fail_fast_on_breach():
        partitions = reconcile(get_catalog(settings).load_table(result.table), topic)
    out = result.to_dict()
    out["reconciled"] = {str(p): r for p, r in partitions.items()}
    print(f"{topic}: +{result.rows} rows in {result.batches} commit(s), {result.redelivered} redelivered "
          f"skipped, stopped at {result.stopped_because}; reconciled {len(partitions)} partition(s)")
    return out


@contextlib.contextmanager
def fail_fast_on_breach():
    """A :class:`~lakehouse.quality.results.DataBreach` fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except Exception as exc:
        if getattr(exc, "data_breach", False):
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        raise


def enforce_gate(results: list[CheckResult], **kwargs) -> float:
    """Apply the gate; a breach fails the task at once."""
    with fail_fast_on_breach():
        return gate(results, **kwargs)


def count_layers(produced: dict | None, *, run_id: str, settings: Settings | None = None) -> list[dict]:
    """Layer count checks; raises (failing the task) on any FAIL so nothing downstream publishes."""
    from lakehouse.quality.counts import check_layer_counts

    settings = settings or get_settings()
    results = check_layer_counts(settings, produced=produced, run_id=run_id)
    enforce_gate(results, min_score=0.0)
    return [r.to_dict() for r in results]


def publish_redis(settings: Settings | None = None) -> dict:
    from lakehouse.serving.redis_publish import publish_gold

    return publish_gold(settings or get_settings())


def readiness_report(*, dag_id: str, run_id: str, upstream: dict, settings: Settings | None = None) -> dict:
    """Collect every result into the report, write it, print the summary, then apply the gate.

    Runs even when upstream tasks failed (trigger rule all_done): a failed or
    missing task becomes a FAIL check, so the report always says what broke.
    """
    from lakehouse.quality.counts import check_layer_counts, layer_counts
    from lakehouse.quality.report import build_report, render_terminal, write_report
    from lakehouse.quality.store import record
    from lakehouse.serving.redis_publish import published_counts

    settings = settings or get_settings()
    checks: list[CheckResult] = []
    for task_id in E2E_TASKS:
        if upstream.get(task_id) is None:
            checks.append(CheckResult(f"task.{task_id}", "orchestration", "-", Status.FAIL,
                                      details="task failed or returned nothing"))
    if upstream.get("audit_branch"):  # the WAP audit's own checks (suites, lineage) on the branch
        checks += [CheckResult.from_dict(c) for c in upstream["audit_branch"]["checks"]]
    produced = (upstream.get("produce_synthetic") or {}).get("produced")
    redis_counts = None
    if upstream.get("publish_redis") is not None:
        redis_counts = published_counts(settings, PLATFORMS)
    counts = layer_counts(settings)
    checks += check_layer_counts(settings, produced=produced, run_id=run_id, redis_counts=redis_counts,
                                 counts=counts)
    if redis_counts is not None:
        counts["redis"] = redis_counts
    report = build_report(
        dag_id=dag_id, run_id=run_id, counts=counts, timings=_timings(upstream), checks=checks,
        extra={"produced": produced, "ingested": upstream.get("ingest_topic")},
    )
    path = write_report(report, settings.reports_dir)
    record(settings, dag_id=dag_id, run_id=run_id, source="readiness_report", results=checks)
    print(render_terminal(report))
    print(f"report: {path}")
    enforce_gate(checks)
    return {"path": str(path), "score": report["score"]}


def _timings(upstream: dict) -> dict:
    out = {}
    if upstream.get("produce_synthetic"):
        out["produce"] = upstream["produce_synthetic"]["seconds"]
    if upstream.get("ingest_topic"):
        out["ingest_bronze"] = round(max(r["seconds"] for r in upstream["ingest_topic"]), 3)
    for job in ("bronze_to_silver", "silver_to_gold", "audit_branch", "publish_branch"):
        if upstream.get(job):
            out[job] = upstream[job].get("submit_seconds", upstream[job].get("seconds"))
    if upstream.get("publish_redis"):
        out["publish_redis"] = upstream["publish_redis"]["seconds"]
    return out
