"""``kol_platform_e2e``: synthetic data in, the count gate, the Redis publish, and the run's own report."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from lakehouse import kafka
from lakehouse.config import Settings, get_settings
from lakehouse.core.names import PLATFORMS
from lakehouse.datagen import DatasetSpec, generate_chunks, merged_manifest
from lakehouse.datagen.producer import produce_records
from lakehouse.ml.labels import write_labels
from lakehouse.orchestration.tasks.checks import enforce_gate, readiness_report
from lakehouse.quality.counts import check_bronze_counts, check_layer_counts, layer_counts
from lakehouse.quality.store import record
from lakehouse.quality.table_checks import table_totals
from lakehouse.quality.volume import volume_checks
from lakehouse.serving.redis_publish import published_counts, top_kols

REPORT_SOURCE = "readiness_report"


def produce_synthetic(params: dict, settings: Settings | None = None) -> dict[str, Any]:
    """Seeded KOL data (with injected faults) to the raw topics, and its labels to ``ml.kol_labels``."""
    settings = settings or get_settings()
    started = time.monotonic()
    spec = DatasetSpec(
        profiles=int(params["profiles"]),
        bad_fraction=float(params["bad_fraction"]),
        seed=int(params["seed"]),
        videos_per_profile=float(params.get("videos_per_profile", 3.0)),
        comments_per_video=float(params.get("comments_per_video", 1.5)),
    )
    kafka.ensure_topics(settings)
    produced, expected, labels, manifests = Counter(), Counter(), [], []
    for chunk in generate_chunks(spec):  # one chunk in memory at a time
        produced.update(produce_records(chunk.all_records(), settings))
        expected.update(chunk.counts())
        labels += chunk.labels
        manifests.append(chunk.manifest())
    if produced != expected:
        raise RuntimeError(f"broker acknowledged {dict(produced)} but {dict(expected)} were sent")
    write_labels(settings, labels)  # ground truth for the trust model
    return {"produced": dict(produced), "manifest": merged_manifest(manifests),
            "seconds": round(time.monotonic() - started, 3)}


def check_bronze(produced: dict | None, *, run_id: str, settings: Settings | None = None) -> list[dict]:
    """Right after ingest: every produced message is in Bronze, or the run stops before any Spark job (a lossy
    ingest cannot pass the count gate; transforming it would only spend the cluster)."""
    results = check_bronze_counts(settings or get_settings(), produced=produced or {}, run_id=run_id)
    enforce_gate(results, min_score=0.0)
    return [r.to_dict() for r in results]


def count_layers(produced: dict | None, *, run_id: str, settings: Settings | None = None) -> list[dict]:
    """Layer count checks; raises (failing the task) on any FAIL so nothing downstream publishes."""
    results = check_layer_counts(settings or get_settings(), produced=produced, run_id=run_id)
    enforce_gate(results, min_score=0.0)
    return [r.to_dict() for r in results]


def e2e_report(*, dag_id: str, run_id: str, upstream: dict[str, Any], expected_tasks: Sequence[str], fail_on_warn: bool = False,
               settings: Settings | None = None) -> dict[str, Any]:
    """kol_platform_e2e's own checks (Bronze vs produced, layers, volume), then the report.

    The Redis checks were recorded by ``publish_redis``; the report adds what readers see (counts, top KOLs).
    """
    settings = settings or get_settings()
    produced = (upstream.get("produce_synthetic") or {}).get("produced")
    counts = layer_counts(settings)
    checks = check_layer_counts(settings, produced=produced, run_id=run_id, counts=counts)
    checks += volume_checks(settings, dag_id, table_totals(counts), run_id=run_id)
    top = {}
    if upstream.get("publish_redis") is not None:
        counts["redis"] = published_counts(settings, PLATFORMS)
        top = top_kols(settings, PLATFORMS)
    record(settings, dag_id=dag_id, run_id=run_id, source=REPORT_SOURCE, results=checks)
    return readiness_report(dag_id=dag_id, run_id=run_id, upstream=upstream, expected_tasks=expected_tasks,
                            counts=counts, settings=settings, fail_on_warn=fail_on_warn,
                            extra={"produced": produced, "ingested": upstream.get("ingest_topic"), "top_kols": top})
