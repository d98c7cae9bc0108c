"""Task bodies of the DAGs: plain functions, so DAG files stay wiring and tests can call them."""

from __future__ import annotations

import contextlib
import time

from lakehouse.config import PLATFORMS, Settings, get_settings
from lakehouse.quality.results import CheckResult, Status, gate

E2E_TASKS = ("produce_synthetic", "ingest_topic", "bronze_to_silver", "train_trust_model", "silver_to_gold",
             "audit_branch", "publish_branch", "count_layers", "publish_redis")


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
    from lakehouse.ml.labels import write_labels

    write_labels(settings, dataset.labels)  # ground truth for the trust model
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


def task_checks(upstream: dict, expected_tasks) -> list[CheckResult]:
    """A FAIL for each expected task that failed or returned nothing (its XCom is missing)."""
    return [CheckResult(f"task.{task_id}", "orchestration", "-", Status.FAIL, details="task failed or returned nothing")
            for task_id in expected_tasks if upstream.get(task_id) in (None, [])]


def run_checks(settings: Settings, dag_id: str, run_id: str, upstream: dict, expected_tasks) -> list[CheckResult]:
    """What the report shows and the gate judges: failed tasks plus every check the run recorded."""
    from lakehouse.quality.store import run_results

    return task_checks(upstream, expected_tasks) + run_results(settings, dag_id, run_id)


def e2e_report(*, dag_id: str, run_id: str, upstream: dict, expected_tasks=E2E_TASKS,
               settings: Settings | None = None) -> dict:
    """kol_platform_e2e's own checks (Bronze vs produced, layers, Redis vs Gold, volume), then the report."""
    from lakehouse.quality.counts import check_layer_counts, layer_counts
    from lakehouse.quality.nightly import table_totals
    from lakehouse.quality.store import record
    from lakehouse.quality.volume import volume_checks
    from lakehouse.serving.redis_publish import published_counts

    settings = settings or get_settings()
    produced = (upstream.get("produce_synthetic") or {}).get("produced")
    redis_counts = published_counts(settings, PLATFORMS) if upstream.get("publish_redis") is not None else None
    counts = layer_counts(settings)
    checks = check_layer_counts(settings, produced=produced, run_id=run_id, redis_counts=redis_counts, counts=counts)
    checks += volume_checks(settings, dag_id, table_totals(counts), run_id=run_id, k=settings.volume_mad_k,
                            window=settings.volume_window)
    top = {}
    if redis_counts is not None:
        from lakehouse.serving.checks import serving_checks
        from lakehouse.serving.redis_publish import top_kols

        checks += serving_checks(settings)
        top = top_kols(settings, PLATFORMS)
    record(settings, dag_id=dag_id, run_id=run_id, source="readiness_report", results=checks)
    if redis_counts is not None:
        counts["redis"] = redis_counts
    return readiness_report(dag_id=dag_id, run_id=run_id, upstream=upstream, expected_tasks=expected_tasks,
                            counts=counts, settings=settings,
                            extra={"produced": produced, "ingested": upstream.get("ingest_topic"), "top_kols": top})


def readiness_report(*, dag_id: str, run_id: str, upstream: dict, expected_tasks, counts: dict | None = None,
                     extra: dict | None = None, settings: Settings | None = None) -> dict:
    """Every check this run recorded, plus failed tasks, as JSON + HTML + a terminal summary.

    Runs even when upstream tasks failed (trigger rule all_done), so the report
    always says what broke. It does not decide the run: the ``quality_gate`` task does.
    """
    from lakehouse.quality.counts import layer_counts
    from lakehouse.quality.report import build_report, render_terminal, write_report
    from lakehouse.quality.store import row_count_trend

    settings = settings or get_settings()
    checks = run_checks(settings, dag_id, run_id, upstream, expected_tasks)
    data_docs = {}
    for result in upstream.values():
        if isinstance(result, dict):
            data_docs.update(result.get("data_docs") or {})
    report = build_report(
        dag_id=dag_id, run_id=run_id, counts=counts if counts is not None else layer_counts(settings),
        timings=_timings(upstream), checks=checks,
        extra={**(extra or {}), "trend": row_count_trend(settings, dag_id), "data_docs": data_docs},
    )
    path = write_report(report, settings.reports_dir)
    print(render_terminal(report))
    print(f"report: {path.with_suffix('.html')}")
    return {"path": str(path), "html": str(path.with_suffix(".html")), "score": report["score"],
            "passed": report["gate"]["passed"]}


def quality_gate(*, dag_id: str, run_id: str, upstream: dict, expected_tasks, fail_on_warn: bool = False,
                 settings: Settings | None = None) -> dict:
    """Fail the DAG run if any check of this run FAILed (or WARNed, when asked) or a task failed."""
    settings = settings or get_settings()
    checks = run_checks(settings, dag_id, run_id, upstream, expected_tasks)
    score = enforce_gate(checks, fail_on_warn=fail_on_warn)
    print(f"quality gate passed: {len(checks)} checks, score {score}%")
    return {"checks": len(checks), "score": score}


def _timings(upstream: dict) -> dict:
    out = {}
    if upstream.get("produce_synthetic"):
        out["produce"] = upstream["produce_synthetic"]["seconds"]
    if upstream.get("ingest_topic"):
        out["ingest_bronze"] = round(max(r["seconds"] for r in upstream["ingest_topic"]), 3)
    for job in ("bronze_to_silver", "train_trust_model", "silver_to_gold", "audit_branch", "publish_branch",
                "lake_checks"):
        if isinstance(upstream.get(job), dict):
            out[job] = upstream[job].get("submit_seconds", upstream[job].get("seconds"))
    if upstream.get("publish_redis"):
        out["publish_redis"] = upstream["publish_redis"]["seconds"]
    return out
