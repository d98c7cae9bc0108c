"""
### Replay quarantined records after a fix

When the cause of a quarantine is fixed upstream of Silver — a contract no longer requires a field, the
parser learns a timestamp format, a threshold was wrong — trigger this DAG with the reason codes to replay.

1. **replay_quarantine** – the selected `silver.quarantine` records (Params `reasons`, optional `since` /
   `until` on when they were quarantined) are read again from Bronze by their Kafka coordinates and go through
   the same Silver code as any increment, on the run's branch: now valid → merged into Silver and gone from
   the quarantine; still bad → stay, with their reason updated if it changed. Silver's totals move with them
   (`bronze = silver + duplicates + quarantined + erased` stays exact) and the commits name the quarantine
   snapshot read. `dry_run` counts, per reason, what would move and writes nothing.
2. **silver_to_gold** → **audit_branch** → **review_warns** → **publish_branch** → **publish_redis** →
   **readiness_report** → **quality_gate**: the rest of `kol_transform`'s Write-Audit-Publish chain, under
   the same WAP lease.

A second replay of the same selection finds nothing to move and changes nothing.
"""

from __future__ import annotations

from airflow.sdk import dag

from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags
from lakehouse.orchestration.params import dag_params
from lakehouse.orchestration.review import review_params
from lakehouse.orchestration.taskflow import published_wap_chain

REPLAY = "replay_quarantine"


@dag(dag_id="kol_quarantine_replay", tags=tags("etl", "wap", "quarantine"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule=None, params={**dag_params(REPLAY), **review_params()})
def kol_quarantine_replay():
    published_wap_chain(first=REPLAY)


kol_quarantine_replay()
