"""OpenLineage facets from a job's result and the audit's checks; where the events go."""

import json

from openlineage.client.serde import Serde

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.orchestration.airflow_env import airflow_env, openlineage_env
from lakehouse.orchestration.lineage import job_lineage


def _as_json(datasets) -> dict:
    return {d.name: json.loads(Serde.to_json(d)) for d in datasets}


def _entity(name, mode="incremental", **overrides):
    stats = {"entity": name, "mode": mode, "bronze_from_snapshot": 11, "bronze_to_snapshot": 12,
             "bronze_rows": 10, "bronze_rows_expected": 10, "upserted": 7, "inserted": 5, "duplicates": 1,
             "quarantined": 2, "silver_snapshot_id": 99, "seconds": 1.0, "kafka_offsets": {"0": [40, 49]}}
    return stats | overrides


def test_silver_lineage_names_the_increment_it_read_and_what_it_wrote():
    result = {"entities": [_entity("profiles"), _entity("videos", mode="up_to_date"),
                           _entity("comments", quarantined=1, upserted=3)], "branch": "audit_r1"}
    lineage = job_lineage("bronze_to_silver", result, [], "audit_r1")
    read = _as_json(lineage.inputs)
    assert set(read) == {"bronze.kol_profiles_raw", "bronze.kol_comments_raw"}  # videos had nothing new
    profiles = read["bronze.kol_profiles_raw"]
    assert profiles["namespace"] == "iceberg://lake"
    assert profiles["inputFacets"]["inputStatistics"]["rowCount"] == 10
    assert {k: profiles["facets"]["lakehouse_iceberg"][k] for k in ("snapshotId", "ref", "fromSnapshotId",
                                                                     "kafkaOffsets")} == {
        "snapshotId": 12, "ref": "main", "fromSnapshotId": 11, "kafkaOffsets": {"0": [40, 49]}}
    assert profiles["facets"]["lakehouse_iceberg"]["_schemaURL"].startswith("urn:kol-lakehouse:")
    written = _as_json(lineage.outputs)
    assert {t: d["outputFacets"]["outputStatistics"]["rowCount"] for t, d in written.items()} == {
        "silver.kol_profiles": 7, "silver.kol_comments": 3, "silver.quarantine": 3}
    assert written["silver.kol_profiles"]["facets"]["lakehouse_iceberg"]["ref"] == "audit_r1"


def test_gold_lineage_reads_the_silver_snapshots_and_writes_what_it_rescored():
    result = {"mode": "incremental", "rows": 500, "updated": 20, "silver_kols": None, "gold_snapshot_id": 7,
              "upstream": {"silver.kol_profiles": 1, "silver.kol_videos": 2}, "seconds": 1.0}
    lineage = job_lineage("silver_to_gold", result, [], "audit_r1")
    assert {d.name: d.facets["lakehouse_iceberg"].snapshotId for d in lineage.inputs} == {
        "silver.kol_profiles": 1, "silver.kol_videos": 2}
    [gold] = lineage.outputs
    assert (gold.name, gold.outputFacets["outputStatistics"].rowCount, gold.facets["lakehouse_iceberg"].snapshotId) \
        == ("gold.kol_summary", 20, 7)
    assert job_lineage("silver_to_gold", {**result, "mode": "up_to_date"}, [], "b").outputs == []
    assert job_lineage("silver_to_gold", {}, [], "b").outputs == []  # failed: nothing written


def test_the_audits_checks_become_assertions_of_the_tables_they_judged():
    checks = [CheckResult("suite.silver.kol_profiles.x", "silver", "silver.kol_profiles", Status.PASS, 0.1, "< 1"),
              CheckResult("schema.silver.kol_profiles", "silver", "silver.kol_profiles", Status.WARN, "added tier"),
              CheckResult("suite.gold.kol_summary.y", "gold", "gold.kol_summary", Status.FAIL, 3, "== 0"),
              CheckResult("accounting.profiles", "silver", "profiles", Status.PASS)]  # not a table: left out
    judged = {d.name: d.inputFacets["dataQualityAssertions"].assertions
              for d in job_lineage("audit_branch", {}, checks, "b").inputs}
    assert set(judged) == {"silver.kol_profiles", "gold.kol_summary"}
    assert [(a.assertion, a.success, a.severity) for a in judged["silver.kol_profiles"]] == [
        ("suite.silver.kol_profiles.x", True, "error"), ("schema.silver.kol_profiles", False, "warn")]
    [failed] = judged["gold.kol_summary"]
    assert (failed.success, failed.actual, failed.expected) == (False, "3", "== 0")


def test_events_go_to_a_file_under_the_state_dir_or_to_marquez(tmp_path):
    settings = Settings(state_dir=tmp_path / "state")
    transport = json.loads(openlineage_env(settings)["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {"type": "file", "log_file_path": str(settings.lineage_dir / "openlineage.jsonl"),
                         "append": True}
    assert settings.lineage_dir.is_dir()  # the transport does not create it
    marquez = json.loads(openlineage_env(settings.replace(openlineage_url="http://marquez:5000"))[
        "AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert marquez == {"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage"}
    own = '{"type": "console"}'  # a deployment's own OpenLineage config is kept
    assert airflow_env(settings, base={"AIRFLOW__OPENLINEAGE__TRANSPORT": own})[
        "AIRFLOW__OPENLINEAGE__TRANSPORT"] == own
