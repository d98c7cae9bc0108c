"""
### Bronze → Silver → Gold with Write-Audit-Publish

Scheduled by the Bronze assets that `kol_ingest` emits (any Bronze table
updated) and by a trust-model promotion (`ml.model_registry`, from
`kol_model_training`: Gold rescores every KOL), and triggerable from the UI. Three Spark jobs, submitted with
SparkSubmitOperator through the `spark_default` connection (local[2] embedded,
a cluster master on the full stack):

1. **bronze_to_silver** – the Bronze snapshots Silver has not seen (incremental
   Iceberg read; `full_rebuild` reprocesses everything), parsed, validated,
   deduplicated and merged into Silver; bad rows to `silver.quarantine` with a reason.
2. **silver_to_gold** – `gold.kol_summary` from this run's Silver.
3. **audit_branch** – counts, accounting, lineage and every expectation suite in
   `expectations/` on the branch. A breach fails here, naming the rule, the
   observed value and up to 20 offending rows.
   **review_warns** – the Param `warn_policy` applied to the audit's WARNs: `publish` (default) goes on,
   `block` fails the run, `review` waits for a reviewer's Approve / Reject in the Airflow UI (Required
   actions), with the WARNs, the branch diff and the Data quality link in the form.
4. **publish_branch** – fast-forward `main` to the branch and drop it: one Iceberg ref commit per table
   (pyiceberg, in the task's process; no Spark job to start).
5. **publish_redis** – the published Gold to the Redis hot path (a new version behind the pointer),
   then Redis vs Gold and the content checks, recorded for the gate. Without this, readers and
   the nightly's serving checks would see the Gold of the last e2e run.
6. **readiness_report** – always runs: every check of the run (and any failed task) to a JSON + HTML report,
   the run's **Data quality** view.
7. **quality_gate** – always runs, last: fails the run on any recorded FAIL or failed task, naming them.

All writes go to the Iceberg branch `audit_<run id>`; `main` moves only in
step 4. After a failed audit the branch stays for inspection (see README).
"""

from __future__ import annotations

from airflow.sdk import dag

from lakehouse.orchestration.assets import BRONZE_ASSETS, TRUST_CHAMPION_ASSET
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags
from lakehouse.orchestration.params import dag_params
from lakehouse.orchestration.review import review_params
from lakehouse.orchestration.taskflow import published_wap_chain


@dag(dag_id="kol_transform", tags=tags("etl", "wap", "silver", "gold"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule=(BRONZE_ASSETS["kol-profiles-raw"] | BRONZE_ASSETS["kol-videos-raw"] | BRONZE_ASSETS["kol-comments-raw"]
              | TRUST_CHAMPION_ASSET),
     params={**dag_params("bronze_to_silver"), **review_params()},
)
def kol_transform():
    published_wap_chain()


kol_transform()
