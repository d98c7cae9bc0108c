"""OpenLineage for the Spark tasks: which Iceberg tables each read and wrote, with counts, snapshots, checks.

The ``apache-airflow-providers-openlineage`` listener emits a START and a COMPLETE (or FAIL) event for every
task; :class:`~lakehouse.orchestration.operators.LakehouseSparkSubmitOperator` fills them through the
provider's ``get_openlineage_facets_on_complete`` / ``_on_failure`` hooks with :func:`job_lineage`. The
Spark job itself runs in another JVM without the OpenLineage Spark listener (no Maven here), so lineage is
built from what the job returned (Silver's and Gold's stats) and what the audit recorded (check results).

Datasets are named ``iceberg://lake`` / ``<namespace>.<table>``. Facets:

- ``inputStatistics`` / ``outputStatistics``: rows read from Bronze, rows merged into Silver or Gold;
- ``dataQualityAssertions``: the audit's checks per table it judged;
- ``lakehouse_iceberg`` (:class:`IcebergSnapshotDatasetFacet`): the snapshot read or written, the ref it
  was on (the run's audit branch for writes, ``main`` for Bronze), the exclusive start of an incremental
  read, and the Kafka offset ranges ``{partition: [first, last]}`` the Bronze increment holds.

Where the events go: :func:`lakehouse.orchestration.airflow_env.openlineage_env` (a JSON-lines file under
the state dir, or Marquez).
"""

from __future__ import annotations

import json
from collections import defaultdict

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import DatasetFacet
from openlineage.client.facet_v2 import data_quality_assertions_dataset as dq
from openlineage.client.facet_v2 import input_statistics_input_dataset as input_stats
from openlineage.client.facet_v2 import output_statistics_output_dataset as output_stats

from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.entities import entities
from lakehouse.core.names import CATALOG_NAME, GOLD_SUMMARY_TABLE, MAIN, QUARANTINE_TABLE

NAMESPACE = f"iceberg://{CATALOG_NAME}"
ICEBERG_FACET = "lakehouse_iceberg"


@attr.define
class IcebergSnapshotDatasetFacet(DatasetFacet):
    """The Iceberg snapshot a task read or wrote (see the module docstring)."""

    snapshotId: int | None  # noqa: N815 (OpenLineage facets are camelCase)
    ref: str | None = attr.field(default=None)
    fromSnapshotId: int | None = attr.field(default=None)  # noqa: N815
    kafkaOffsets: dict[str, list[int]] | None = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return "urn:kol-lakehouse:openlineage:facets:IcebergSnapshotDatasetFacet:1-0-0"


def job_lineage(job: str, result: dict, checks: list[CheckResult], branch: str) -> OperatorLineage:
    """The lineage of one Spark task of a WAP chain writing to ``branch``, from its job ``result`` (empty
    when it failed) and the checks it recorded (the audit's)."""
    if job == "bronze_to_silver":
        return silver_lineage(result, branch)
    if job == "silver_to_gold":
        return gold_lineage(result, branch)
    if job == "audit_branch":
        return OperatorLineage(inputs=audited(checks))
    return OperatorLineage()


def silver_lineage(result: dict, branch: str) -> OperatorLineage:
    """Bronze increments in (rows, snapshot range, Kafka offsets), Silver and quarantine rows out."""
    inputs, outputs, quarantined = [], [], 0
    for stats in result.get("entities", []):
        if stats["mode"] == "up_to_date":
            continue
        entity = entities()[stats["entity"]]
        inputs.append(InputDataset(
            NAMESPACE, entity.bronze_table,
            facets={ICEBERG_FACET: IcebergSnapshotDatasetFacet(
                stats["bronze_to_snapshot"], MAIN, stats["bronze_from_snapshot"], stats.get("kafka_offsets"))},
            inputFacets={"inputStatistics": input_stats.InputStatisticsInputDatasetFacet(
                rowCount=stats["bronze_rows"])}))
        outputs.append(_written(entity.silver_table, stats["silver_snapshot_id"], branch, stats["upserted"]))
        quarantined += stats["quarantined"]
    if quarantined:
        outputs.append(_written(QUARANTINE_TABLE, None, branch, quarantined))
    return OperatorLineage(inputs=inputs, outputs=outputs)


def gold_lineage(result: dict, branch: str) -> OperatorLineage:
    """The Silver snapshots Gold read, and the Gold rows this run (re)scored."""
    if not result or result.get("mode") == "up_to_date":
        return OperatorLineage()
    inputs = [InputDataset(NAMESPACE, table, facets={ICEBERG_FACET: IcebergSnapshotDatasetFacet(snapshot)})
              for table, snapshot in sorted(result.get("upstream", {}).items())]
    return OperatorLineage(inputs=inputs,
                           outputs=[_written(GOLD_SUMMARY_TABLE, result["gold_snapshot_id"], branch,
                                             result["updated"])])


def audited(checks: list[CheckResult]) -> list[InputDataset]:
    """Each table the audit judged, with its checks as data quality assertions (a WARN is a failed
    assertion of severity ``warn``)."""
    by_table: dict[str, list] = defaultdict(list)
    for check in checks:
        if "." in check.table:
            by_table[check.table].append(dq.Assertion(
                assertion=check.check_id, success=check.status in (Status.PASS, Status.SKIP),
                severity="warn" if check.status == Status.WARN else "error",
                actual=None if check.observed is None else json.dumps(check.observed, default=str),
                expected=check.threshold or None))
    return [InputDataset(NAMESPACE, table, inputFacets={
        "dataQualityAssertions": dq.DataQualityAssertionsDatasetFacet(assertions=assertions)})
        for table, assertions in sorted(by_table.items())]


def _written(table: str, snapshot: int | None, branch: str, rows: int) -> OutputDataset:
    return OutputDataset(NAMESPACE, table,
                         facets={ICEBERG_FACET: IcebergSnapshotDatasetFacet(snapshot, branch)},
                         outputFacets={"outputStatistics": output_stats.OutputStatisticsOutputDatasetFacet(
                             rowCount=rows)})

