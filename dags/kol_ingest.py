"""
### Kafka → Bronze ingestion

Every 15 minutes (and from the UI) each selected topic is consumed into its own
Bronze Iceberg table by one dynamically mapped task, in parallel.

- **Exactly once**: each batch is one Iceberg commit recording the offsets it
  consumed (`kafka.ranges`, `kafka.next-offsets` in the snapshot summary); a
  task resumes from the table, so a killed or re-run task never duplicates or skips.
- **Bounded**: stops at the end of the partitions seen, `max_records` or `max_seconds`.
- **Reconciled**: after each run, this run's commits must continue exactly where
  the previous ones ended and hold exactly their offsets, and the table's rows must
  equal the offsets recorded as consumed, or the task fails.
- **Same log**: the broker's cluster id and the topic id are recorded with the
  offsets; if either changed (broker log lost), the run is refused until it is
  re-run with `rebaseline`, which starts a new epoch and is recorded as a check.
- **Assets**: once every topic committed, `emit_bronze_events` emits one asset
  event per Bronze table that received rows (`iceberg://lake/bronze/<table>`,
  via the `lakehouse-bronze` alias), together, so one ingest run schedules one
  `kol_transform`. A run with no new records emits none.

The broker comes from the `kafka_default` connection (else `LAKEHOUSE_KAFKA_BOOTSTRAP`).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from lakehouse.core.names import TOPICS
from lakehouse.orchestration.assets import BRONZE_ALIAS, BRONZE_ASSETS
from lakehouse.orchestration.dag_defaults import DAG_DEFAULTS, tags

ALL_TOPICS = list(TOPICS.values())


@dag(dag_id="kol_ingest", tags=tags("ingest", "bronze"), doc_md=__doc__, **DAG_DEFAULTS,
     schedule="*/15 * * * *",
     params={
        "topics": Param(ALL_TOPICS, type="array", items={"type": "string", "enum": ALL_TOPICS},
                        minItems=1, uniqueItems=True, description="topics to ingest"),
        "max_records": Param(None, type=["null", "integer"], minimum=1, description="per topic"),
        "max_seconds": Param(600, type=["null", "number"], minimum=1, description="per topic"),
        "batch_size": Param(50_000, type="integer", minimum=1, maximum=1_000_000,
                            description="records per Iceberg commit"),
        "rebaseline": Param(False, type="boolean",
                            description="accept a new broker log (topic/cluster id changed) and start a new "
                                        "epoch at its earliest offsets; recorded as a check"),
    },
)
def kol_ingest():
    @task
    def select_topics(params=None) -> list[str]:
        return list(params["topics"])

    @task(max_active_tis_per_dagrun=len(ALL_TOPICS))
    def ingest_topic(topic: str, params=None, dag_run=None):
        from lakehouse.orchestration.tasks.ingest import ingest_and_reconcile

        return ingest_and_reconcile(topic, dag_id=dag_run.dag_id, run_id=dag_run.run_id, params=params)

    @task(outlets=[BRONZE_ALIAS])
    def emit_bronze_events(results, outlet_events=None) -> dict[str, int]:
        """One task emits the run's events, once every topic committed: the scheduler then sees them
        together and starts one `kol_transform`, not one per topic as the mapped tasks finish."""
        emitted = {}
        for result in results:
            if result["rows"]:
                outlet_events[BRONZE_ALIAS].add(
                    BRONZE_ASSETS[result["topic"]],
                    extra={k: result[k] for k in ("rows", "snapshot_ids", "ranges")},
                )
                emitted[result["topic"]] = result["rows"]
        return emitted

    emit_bronze_events(ingest_topic.expand(topic=select_topics()))


kol_ingest()
