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

The task takes every slot of the `lakehouse_lake` pool, so no writer runs beside it.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from lakehouse.config import get_settings
from lakehouse.core.entities import MAINTAINED_TABLES
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, LAKE_POOL_SLOTS, tags
from lakehouse.orchestration.operators import LakehouseSparkSubmitOperator

_S = get_settings()
PARAM_NAMES = ("snapshot_retention_hours", "retain_last", "branch_retention_hours", "orphan_min_age_hours",
               "check_history_days", "report_retention_days", "tables")
PARAMS_JSON = "{" + ", ".join(f'"{k}": {{{{ params.{k} | tojson }}}}' for k in PARAM_NAMES) + "}"


@dag(dag_id="kol_lake_maintenance", tags=tags("maintenance"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule="30 4 * * *",
     params={
        "snapshot_retention_hours": Param(_S.snapshot_retention_hours, type="number", minimum=1,
                                          description="expire snapshots older than this"),
        "retain_last": Param(_S.snapshot_retain_last, type="integer", minimum=1,
                             description="...but keep at least this many per table"),
        "branch_retention_hours": Param(_S.branch_retention_hours, type="number", minimum=1,
                                        description="drop audit branches older than this"),
        "orphan_min_age_hours": Param(_S.orphan_min_age_hours, type="number", minimum=1,
                                      description="only remove unreferenced files older than this"),
        "check_history_days": Param(_S.check_history_days, type="number", minimum=1,
                                    description="keep audit.check_results rows this long"),
        "report_retention_days": Param(_S.report_retention_days, type="number", minimum=1,
                                       description="keep run report files this long"),
        "tables": Param([], type="array", items={"type": "string", "enum": list(MAINTAINED_TABLES)},
                        uniqueItems=True, description="only these tables (empty: all)"),
    },
)
def kol_lake_maintenance():
    LakehouseSparkSubmitOperator(
        task_id="maintain_lake", job="maintain_lake", pool_slots=LAKE_POOL_SLOTS, priority_weight=100,
        application_args=["--dag-id", "{{ dag.dag_id }}", "--run-id", "{{ run_id }}", "--branch", "main",
                          "--params", PARAMS_JSON],
    )


kol_lake_maintenance()
