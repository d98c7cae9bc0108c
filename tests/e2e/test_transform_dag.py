"""kol_transform through real Airflow: four spark-submit jobs on a WAP branch, publish or keep main."""

import json
import shutil

import pytest

from lakehouse.core.entities import entities
from lakehouse.core.names import BRONZE_TABLES, TOPICS, run_branch
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
def transform_dag(load_dag):
    return load_dag("kol_transform")


@pytest.fixture
def bronze_loaded(settings, services, catalog):
    produce_records(generate(DatasetSpec(profiles=600, bad_fraction=0.02, seed=51)).all_records(), settings)
    for topic in TOPICS.values():
        ingest_topic(topic, settings, log=lambda *_: None)
    return settings


def _refs(settings, table):
    return dict(get_catalog(settings).load_table(table).refs())


def test_a_new_failing_suite_fails_the_audit_and_main_is_untouched(bronze_loaded, transform_dag, tmp_path,
                                                                   monkeypatch):
    from lakehouse.core.project import find_project_dir

    suites = tmp_path / "expectations"
    shutil.copytree(find_project_dir() / "expectations", suites)
    strict = json.loads((suites / "gold" / "kol_summary.json").read_text())
    strict["expectations"].append({"type": "expect_column_values_to_be_between",
                                   "kwargs": {"column": "trending_score", "max_value": 50}, "meta": {}})
    (suites / "gold" / "kol_summary.json").write_text(json.dumps(strict))  # a data engineer's new rule
    monkeypatch.setenv("LAKEHOUSE_EXPECTATIONS_DIR", str(suites))
    run = transform_dag.test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert states["audit_branch"] == "failed" and states["publish_branch"] == "upstream_failed"
    assert states["publish_redis"] == "upstream_failed"  # readers keep what they had
    branch = run_branch(run.run_id)
    gold_refs = _refs(bronze_loaded, "gold.kol_summary")
    assert branch in gold_refs  # kept for inspection
    main = get_catalog(bronze_loaded).load_table("gold.kol_summary")
    assert main.scan().count() == 0  # main holds only the empty table the run created
    assert gold_refs["main"].snapshot_id != gold_refs[branch].snapshot_id
    _assert_lineage(bronze_loaded, run, branch)


def test_a_warn_under_policy_block_stops_the_publish_and_says_why(bronze_loaded, transform_dag, tmp_path,
                                                                   monkeypatch):
    from lakehouse.core.project import find_project_dir
    from lakehouse.quality.store import run_results

    suites = tmp_path / "expectations"
    shutil.copytree(find_project_dir() / "expectations", suites)
    gold = json.loads((suites / "gold" / "kol_summary.json").read_text())
    gold["expectations"].append({"type": "expect_column_max_to_be_between", "meta": {"severity": "warning"},
                                 "kwargs": {"column": "followers_count", "max_value": 1}})
    (suites / "gold" / "kol_summary.json").write_text(json.dumps(gold))  # a rule that only WARNs
    monkeypatch.setenv("LAKEHOUSE_EXPECTATIONS_DIR", str(suites))
    run = transform_dag.test(run_conf={"warn_policy": "block"})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert states["audit_branch"] == "success" and states["review_warns"] == "failed", states
    assert states["publish_branch"] == states["publish_redis"] == "upstream_failed", states
    assert states["release_wap_lease"] == "success"
    refs = _refs(bronze_loaded, "gold.kol_summary")
    assert run_branch(run.run_id) in refs and get_catalog(bronze_loaded).load_table("gold.kol_summary").scan().count() == 0
    checks = {c.check_id: c for c in run_results(bronze_loaded, "kol_transform", run.run_id)}
    warned = "suite.gold.kol_summary.expect_column_max_to_be_between.followers_count"
    assert checks[warned].status == "WARN"
    assert (checks["review.decision"].status, checks["review.decision"].observed) == ("FAIL", "blocked")
    assert warned in checks["review.decision"].details


def _assert_lineage(settings, run, branch: str) -> None:
    """The run's OpenLineage events: Bronze -> Silver -> Gold edges with counts, snapshots and Kafka offsets
    as the tables hold them, and the audit's failed rule among its assertions."""
    from conftest import lineage_events

    catalog = get_catalog(settings)
    events = {(e["job"]["name"].split(".", 1)[1], e["eventType"]): e for e in lineage_events(run.dag_id, run.run_id)}
    assert {("bronze_to_silver", "COMPLETE"), ("silver_to_gold", "COMPLETE"), ("audit_branch", "FAIL")} <= set(events)

    silver = events[("bronze_to_silver", "COMPLETE")]
    read = {d["name"]: d for d in silver["inputs"]}
    assert set(read) == set(BRONZE_TABLES.values())
    for topic, table in BRONZE_TABLES.items():
        rows = catalog.load_table(table).scan().to_arrow()
        assert read[table]["inputFacets"]["inputStatistics"]["rowCount"] == rows.num_rows  # the first run reads all
        offsets = read[table]["facets"]["lakehouse_iceberg"]["kafkaOffsets"]
        for partition, (first, last) in offsets.items():
            mine = [o for p, o in zip(rows["kafka_partition"].to_pylist(), rows["kafka_offset"].to_pylist(),
                                      strict=True) if p == int(partition)]
            assert (first, last) == (min(mine), max(mine)), topic
    written = {d["name"]: d for d in silver["outputs"]}
    silver_tables = [e.silver_table for e in entities().values()]
    assert set(silver_tables) <= set(written) and all(d["namespace"] == "iceberg://lake" for d in written.values())
    for table in silver_tables:
        on_branch = catalog.load_table(table).refs()[branch].snapshot_id
        assert written[table]["facets"]["lakehouse_iceberg"].items() >= {"snapshotId": on_branch, "ref": branch}.items()
        rows = catalog.load_table(table).scan(snapshot_id=on_branch).count()
        assert written[table]["outputFacets"]["outputStatistics"]["rowCount"] == rows

    gold = events[("silver_to_gold", "COMPLETE")]
    assert {d["name"]: d["facets"]["lakehouse_iceberg"]["snapshotId"] for d in gold["inputs"]} == {
        t: written[t]["facets"]["lakehouse_iceberg"]["snapshotId"] for t in silver_tables}  # the edge Silver -> Gold
    [summary] = gold["outputs"]
    gold_head = catalog.load_table("gold.kol_summary").refs()[branch].snapshot_id
    assert (summary["name"], summary["facets"]["lakehouse_iceberg"]["snapshotId"]) == ("gold.kol_summary", gold_head)
    assert summary["outputFacets"]["outputStatistics"]["rowCount"] == catalog.load_table(
        "gold.kol_summary").scan(snapshot_id=gold_head).count()

    judged = {d["name"]: d["inputFacets"]["dataQualityAssertions"]["assertions"]
              for d in events[("audit_branch", "FAIL")]["inputs"]}
    failed = {a["assertion"] for a in judged["gold.kol_summary"] if not a["success"]}
    # the engineer's new rule (the suite's second range on trending_score), with its observed value
    assert failed == {"suite.gold.kol_summary.expect_column_values_to_be_between.trending_score.2"}, failed
    [breach] = [a for a in judged["gold.kol_summary"] if not a["success"]]
    assert breach["severity"] == "error" and float(breach["actual"]) > 0 and '"max_value": 50' in breach["expected"]
    assert judged["silver.kol_profiles"] and not [a for a in judged["silver.kol_profiles"]
                                                  if not a["success"] and a["severity"] == "error"]
