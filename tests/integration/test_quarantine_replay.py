"""Quarantine replay on real Spark, Iceberg and the broker: records quarantined under a contract that required
a field come back once the contract no longer does, through the same Silver code and the audit; the books
stay exact; records still bad stay (with their new reason); a second replay changes nothing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.core import entities as entities_module
from lakehouse.core.contracts import CONTRACTS_DIR_ENV
from lakehouse.core.names import LINEAGE_REPLAYED_FROM, QUARANTINE_TABLE, TOPICS
from lakehouse.core.project import find_project_dir
from lakehouse.datagen import DatasetSpec, Record, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.etl import wap
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import summary
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.replay import replay
from lakehouse.jobs.transform import audit_branch, build_gold, build_silver
from lakehouse.quality.counts import layer_counts

pytestmark = pytest.mark.integration


def _use_contracts(monkeypatch, directory) -> None:
    monkeypatch.setenv(CONTRACTS_DIR_ENV, str(directory))
    entities_module.entities.cache_clear()  # read again on first use, as a new process would


def _quarantined(spark, reason: str | None = None) -> int:
    where = f" WHERE reason = '{reason}'" if reason else ""
    return spark.sql(f"SELECT count(*) FROM lake.{QUARANTINE_TABLE}{where}").first()[0]


@pytest.fixture
def strict_lake(lake, lake_services, spark_session, monkeypatch, tmp_path):
    """A published lake whose profiles contract required ``display_name`` when they arrived: 6 profiles
    without one are quarantined ``missing_field``, one of them also with a negative follower count."""
    strict = shutil.copytree(find_project_dir() / "contracts", tmp_path / "contracts")
    path = strict / "kol-profiles-raw.json"
    contract = json.loads(path.read_text())
    contract["fields"]["display_name"]["required"] = True
    path.write_text(json.dumps(contract))
    _use_contracts(monkeypatch, strict)
    dataset = generate(DatasetSpec(profiles=60, bad_fraction=0.0, seed=17))
    newcomers = generate(DatasetSpec(profiles=6, bad_fraction=0.0, seed=18, first_index=5000))  # KOLs of their own
    profiles = [json.loads(r.value) for r in newcomers.records["profiles"]][:6]
    nameless = [{k: v for k, v in p.items() if k != "display_name"} for p in profiles]
    nameless[0]["followers_count"] = -1
    extra = [Record(TOPICS["profiles"], p["kol_id"].encode(), json.dumps(p).encode()) for p in nameless]
    produce_records([*dataset.all_records(), *extra], lake)
    for topic in TOPICS.values():
        ingest_topic(topic, lake, log=lambda *_: None)
    build_silver(spark_session, run_id="first", branch="first")
    build_gold(spark_session, run_id="first", branch="first")
    wap.publish("first")
    assert _quarantined(spark_session, "missing_field") == 6
    _use_contracts(monkeypatch, find_project_dir() / "contracts")  # the fix: display_name is optional again
    return {"nameless": nameless}


def _replay(spark, run: str, reasons: list[str], dry_run: bool = False) -> dict:
    result = replay(spark, run_id=run, branch=None if dry_run else run,
                    params={"reasons": reasons, "since": "", "until": "", "dry_run": dry_run})
    if not dry_run:
        build_gold(spark, run_id=run, branch=run)
        audit_branch(spark, branch=run, run_id=run)  # counts, accounting, lineage, every suite: FAIL raises
        wap.publish(run)
    return result


def test_replay_moves_what_the_fix_accepts_keeps_the_rest_and_a_second_replay_changes_nothing(
        strict_lake, lake, spark_session, airflow_db):
    spark = spark_session
    before = layer_counts(lake)
    dry = _replay(spark, "dry", ["missing_field", "negative_count"], dry_run=True)
    assert dry["by_reason"]["missing_field"] == {"selected": 6, "would_move": 5}
    assert _quarantined(spark, "missing_field") == 6  # a dry run writes nothing

    result = _replay(spark, "replay1", ["missing_field"])
    [profiles] = [e for e in result["entities"] if e["entity"] == "profiles"]
    assert (profiles["selected"], profiles["moved"], profiles["reason_changed"]) == (6, 5, 1)
    after = layer_counts(lake)
    assert after["quarantine"]["profiles"] == before["quarantine"]["profiles"] - 5  # exactly what Silver gained
    assert after["silver"]["profiles"] == before["silver"]["profiles"] + 5
    assert after["duplicates"] == before["duplicates"] and after["bronze"] == before["bronze"]
    assert _quarantined(spark, "missing_field") == 0 and _quarantined(spark, "negative_count") >= 1  # reason updated
    names = {p["kol_id"] for p in strict_lake["nameless"][1:]}
    gold = spark.table("lake.gold.kol_summary").where(
        f"kol_id IN ({', '.join(repr(k) for k in sorted(names))})").count()
    assert gold == len(names) == 5  # in Gold too, published
    silver = get_catalog(lake).load_table("silver.kol_profiles")
    replayed_from = json.loads(summary(silver.current_snapshot())[LINEAGE_REPLAYED_FROM])
    quarantine = get_catalog(lake).load_table(QUARANTINE_TABLE)
    assert replayed_from[QUARANTINE_TABLE] in {s.snapshot_id for s in quarantine.snapshots()}

    # again, the same and the still-bad, as a user runs it: the CLI runs kol_quarantine_replay (airflow dags
    # test: replay, Gold, audit, review, publish, Redis, report, gate) and nothing changes
    cli = subprocess.run([str(Path(sys.executable).parent / "lakehouse"), "quarantine", "replay", "missing_field",
                          "negative_count"], capture_output=True, text=True, timeout=900)
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert "quarantine-replay: DAG run succeeded" in cli.stdout
    assert layer_counts(lake) == after
    report = json.loads((lake.reports_dir / "kol_quarantine_replay" / "latest.json").read_text())
    rows = {c["check_id"]: c for c in report["checks"] if c["check_id"].startswith("replay.")}
    assert rows == {"replay.negative_count": rows["replay.negative_count"]}  # missing_field: none left
    assert rows["replay.negative_count"]["observed"] == "0/1" and report["gate"]["passed"]
