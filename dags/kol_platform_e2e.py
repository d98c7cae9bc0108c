"""
### KOL platform end-to-end (production-readiness run)

Pushes seeded synthetic KOL data through the whole platform and proves it:

1. **produce_synthetic** – profiles, videos, comments (with injected faults) to the raw topics.
2. **ingest_topic** – one mapped task per topic, Kafka → Bronze Iceberg (exactly once).
   **check_bronze** – every produced message is in Bronze (from commit metadata), or the run stops
   here, before any Spark job.
3. **bronze_to_silver** → **train_trust_model** → **silver_to_gold** → **audit_branch** →
   **review_warns** → **publish_branch** – the same Write-Audit-Publish Spark jobs as `kol_transform`, on the branch
   `audit_<run id>`, with the `kol_model_training` job in between: the model trained on this run's
   Silver (and promoted if its gates pass) gives Gold its trust scores.
4. **count_layers** – Bronze = produced, Silver ≥ 95 % of distinct Bronze keys, exact accounting,
   Gold = Silver KOLs; fails before anything is published.
5. **publish_redis** – Gold to the Redis hot path.
6. **readiness_report** – always runs; every check of the run (and any failed task) to a JSON + HTML
   report under the reports dir, with a one-screen summary in the log.
7. **quality_gate** – always runs, last; fails the run on any FAIL or a score below 95 %, naming the checks.

Params: `profiles`, `bad_fraction`, `seed`, `videos_per_profile`, `comments_per_video`, and the WARN policy
(`warn_policy`, `review_timeout_minutes`, as in `kol_transform`).
`make demo` runs this DAG with `airflow dags test`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from lakehouse.core.names import TOPICS
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags
from lakehouse.orchestration.review import REVIEW_TASK, review_params
from lakehouse.orchestration.taskflow import (
    publish_redis_task,
    quality_gate_task,
    readiness_report_task,
    wap_chain,
    wap_lease,
)

TASKS = "lakehouse.orchestration.tasks"
# every task the report and the gate account for (a missing XCom is a failed task)
E2E_TASKS = ("produce_synthetic", "ingest_topic", "check_bronze", "bronze_to_silver", "train_trust_model", "silver_to_gold",
             "audit_branch", REVIEW_TASK, "publish_branch", "count_layers", "publish_redis")


@dag(dag_id="kol_platform_e2e", tags=tags("e2e", "readiness"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule=None,
     params={
        "profiles": Param(10_000, type="integer", minimum=1, maximum=2_000_000),
        "bad_fraction": Param(0.02, type="number", minimum=0, maximum=0.5),
        "seed": Param(42, type="integer"),
        "videos_per_profile": Param(3.0, type="number", minimum=0),
        "comments_per_video": Param(1.5, type="number", minimum=0),
        **review_params(),
    },
)
def kol_platform_e2e():
    # Producing is not idempotent (a retry would send the data twice): no retries.
    @task(retries=0)
    def produce_synthetic(params=None):
        from lakehouse.orchestration.tasks import e2e

        return e2e.produce_synthetic(params)

    @task
    def ingest_topic(topic: str, dag_run=None):
        from lakehouse.orchestration.tasks import ingest

        return ingest.ingest_and_reconcile(topic, dag_id=dag_run.dag_id, run_id=dag_run.run_id)

    @task
    def check_bronze(produced: dict, dag_run=None):
        from lakehouse.orchestration.tasks import e2e

        return e2e.check_bronze(produced["produced"], run_id=dag_run.run_id)

    @task
    def count_layers(produced: dict, dag_run=None):
        from lakehouse.orchestration.tasks import e2e

        return e2e.count_layers(produced["produced"], run_id=dag_run.run_id)

    produced = produce_synthetic()
    ingested = ingest_topic.expand(topic=list(TOPICS.values()))
    transform = wap_chain(train=True)
    counted = count_layers(produced)
    published = publish_redis_task()
    produced >> ingested >> check_bronze(produced) >> transform[0]
    report = readiness_report_task(E2E_TASKS, body=f"{TASKS}.e2e:e2e_report")
    transform[-1] >> counted >> published >> report >> quality_gate_task((*E2E_TASKS, "readiness_report"))
    wap_lease(transform[0], published)  # one WAP chain at a time, across DAGs


kol_platform_e2e()
