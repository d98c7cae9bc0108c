"""
### Right to erasure: a subject's data gone from every layer and its history, with a proof

Triggered from the UI (or `lakehouse erase`) with Params: `subjects` (each `platform:kol_id`),
`request_id` (the ticket: checks, report and ledger go by it) and `reason` (the legal ground, no
personal data). Under the lake lease (no WAP chain beside it) and every slot of the `lakehouse_lake` pool
(no maintenance either), one Spark job:

1. refuses a bad request or an unsettled lake (an increment waiting for `kol_transform`) before touching anything;
2. records the subjects in `audit.erasure_ledger` as salted hashes: from now on ingestion and Silver refuse
   their records (`erased_subject`, counted, never written);
3. blanks their Bronze records (offsets kept, so reconciliation stays exact) and deletes their rows in Silver,
   quarantine, Gold and `ml.kol_labels`, redacting `audit.check_results`: copy-on-write, the files that held
   them rewritten;
4. purges history: branches and tags dropped, every older snapshot expired, orphan files removed;
5. republishes Redis from the erased Gold and drops every older version; redacts the state dir's reports,
   GX results, Data Docs, lineage events and logs;
6. proves it: each table's `main` and every retained snapshot, the values of every Parquet file, every
   other file's bytes, every Redis key — one `erasure.<place>` check each, recorded under the request id.

**readiness_report** shows the proof (also in the Data quality view); **quality_gate** fails the run on any
hit, naming the place. Re-running a finished request changes nothing and proves again.
"""

from __future__ import annotations

from airflow.sdk import dag

from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, LAKE_POOL_SLOTS, tags
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator
from lakehouse.orchestration.params import dag_params, job_arguments
from lakehouse.orchestration.taskflow import quality_gate_task, readiness_report_task, wap_lease

ERASE = "erase_subjects"


@dag(dag_id="kol_erasure", tags=tags("erasure", "compliance"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule=None, params=dag_params(ERASE))
def kol_erasure():
    erase = LakehouseSparkSubmitOperator(
        task_id=ERASE, job=ERASE, pool_slots=LAKE_POOL_SLOTS, priority_weight=100,
        application_args=job_arguments(ERASE, branch="main"),
    )
    wap_lease(erase, erase)
    erase >> readiness_report_task((ERASE,)) >> quality_gate_task((ERASE,))


kol_erasure()
