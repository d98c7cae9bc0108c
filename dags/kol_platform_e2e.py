"""
### KOL platform end-to-end (production-readiness run)

Pushes seeded synthetic KOL data through the whole platform and proves it:

1. **produce_synthetic** – profiles, videos, comments (with injected faults) to the raw topics.
2. **ingest_topic** – one mapped task per topic, Kafka → Bronze Iceberg (exactly once).
3. **bronze_to_silver** → **train_trust_model** → **silver_to_gold** → **audit_branch** →
   **publish_branch** – the same Write-Audit-Publish Spark jobs as `kol_transform`, on the branch
   `audit_<run id>`, with the `kol_model_training` job in between: the model trained on this run's
   Silver (and promoted if its gates pass) gives Gold its trust scores.
4. **count_layers** – Bronze = produced, Silver ≥ 95 % of distinct Bronze keys, exact accounting,
   Gold = Silver KOLs; fails before anything is published.
5. **publish_redis** – Gold to the Redis hot path.
6. **readiness_report** – always runs; every check of the run (and any failed task) to a JSON + HTML
   report under the reports dir, with a one-screen summary in the log.
7. **quality_gate** – always runs, last; fails the run on any FAIL or a score below 95 %, naming the checks.

Params: `profiles`, `bad_fraction`, `seed`, `videos_per_profile`, `comments_per_video`.
`make demo` runs this DAG with `airflow dags test`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from lakehouse import pipeline
from lakehouse.check_tasks import quality_gate, readiness_report
from lakehouse.config import TOPICS
from lakehouse.dag_defaults import BASE_TAGS, DEFAULT_ARGS, START_DATE
from lakehouse.transform_tasks import wap_chain


@dag(
    dag_id="kol_platform_e2e",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "e2e", "readiness"],
    doc_md=__doc__,
    params={
        "profiles": Param(10_000, type="integer", minimum=1, maximum=2_000_000),
        "bad_fraction": Param(0.02, type="number", minimum=0, maximum=0.5),
        "seed": Param(42, type="integer"),
        "videos_per_profile": Param(3.0, type="number", minimum=0),
        "comments_per_video": Param(1.5, type="number", minimum=0),
    },
)
def kol_platform_e2e():
    # Producing is not idempotent (a retry would send the data twice): no retries.
    @task(retries=0)
    def produce_synthetic(params=None):
        return pipeline.produce_synthetic(params)

    @task
    def ingest_topic(topic: str, dag_run=None):
        return pipeline.ingest(topic, dag_id=dag_run.dag_id, run_id=dag_run.run_id)

    @task
    def count_layers(produced: dict, dag_run=None):
        return pipeline.count_layers(produced["produced"], run_id=dag_run.run_id)

    @task
    def publish_redis():
        return pipeline.publish_redis()

    produced = produce_synthetic()
    ingested = ingest_topic.expand(topic=list(TOPICS.values()))
    transform = wap_chain(train=True)
    counted = count_layers(produced)
    published = publish_redis()
    produced >> ingested >> transform[0]
    report = readiness_report(pipeline.E2E_TASKS, body=pipeline.e2e_report)
    transform[-1] >> counted >> published >> report >> quality_gate((*pipeline.E2E_TASKS, "readiness_report"))


kol_platform_e2e()
