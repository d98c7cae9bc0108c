"""
### Lake maintenance: a year of 15-minute commits stays cheap

Daily at 04:30 (after the nightly quality run), and from the UI with Params.
One Spark job runs Iceberg's own procedures on every table, each an atomic
commit recorded as a check (`maintenance.<action>.<table>`: what it removed,
snapshots/files/bytes before → after):

- `rewrite_data_files` (compacts Bronze's per-batch files, applies deletes),
  `rewrite_position_delete_files` (merge-on-read Silver/Gold), `rewrite_manifests`;
- `expire_snapshots` by age and count — never a snapshot that bookkeeping or
  lineage still reads (newest ingest commit, Silver's upstream Bronze snapshot,
  open audit branches); audit branches older than `branch_retention_hours` are
  dropped by it (`history.expire.max-ref-age-ms`);
- `remove_orphan_files` older than `orphan_min_age_hours`;
- then `audit.check_results` rows and report files older than their retention.

The task takes every slot of the `lakehouse_lake` pool, so no writer runs beside it, and holds the WAP lease
(setup/teardown), so it never moves `main` under a chain that waits for a reviewer (a task awaiting input
holds no pool slot).
"""

from __future__ import annotations

from airflow.sdk import dag

from lakehouse.config import get_settings
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, LAKE_POOL_SLOTS, tags
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator
from lakehouse.orchestration.params import dag_params, job_arguments
from lakehouse.orchestration.taskflow import wap_lease

_S = get_settings()


@dag(dag_id="kol_lake_maintenance", tags=tags("maintenance"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule="30 4 * * *",
     params=dag_params("maintain_lake", snapshot_retention_hours=_S.snapshot_retention_hours,
                       retain_last=_S.snapshot_retain_last, branch_retention_hours=_S.branch_retention_hours,
                       orphan_min_age_hours=_S.orphan_min_age_hours, check_history_days=_S.check_history_days,
                       report_retention_days=_S.report_retention_days, tables=[]),
)
def kol_lake_maintenance():
    maintain = LakehouseSparkSubmitOperator(
        task_id="maintain_lake", job="maintain_lake", pool_slots=LAKE_POOL_SLOTS, priority_weight=100,
        application_args=job_arguments("maintain_lake", branch="main"),
    )
    wap_lease(maintain, maintain)  # a WAP chain parked on a review frees its pool slots, not the lease


kol_lake_maintenance()
