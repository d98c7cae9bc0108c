"""kol_quality_nightly through real Airflow (`dag.test()`): spark-submit checks on main, report, gate."""

import json
from html import escape

import pytest
from conftest import ALERTS_TO, html_part
from pyiceberg.expressions import EqualTo

from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.transform import build_gold, build_silver
from lakehouse.orchestration.quality_ui import run_url
from lakehouse.quality.store import run_results

pytestmark = pytest.mark.e2e


def _load(settings, profiles, seed):
    produce_records(generate(DatasetSpec(profiles=profiles, bad_fraction=0.02, seed=seed)).all_records(), settings)
    for topic in TOPICS.values():
        ingest_topic(topic, settings, log=lambda *_: None)


def _states(run):
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def _latest_report(settings):
    return json.loads((settings.reports_dir / "kol_quality_nightly" / "latest.json").read_text())


def test_nightly_checks_main_reports_and_gates(lake, lake_services, spark_session, load_dag, chromium_dom):
    dag = load_dag("kol_quality_nightly")
    _load(lake, profiles=400, seed=71)
    build_silver(spark_session, run_id="built")
    build_gold(spark_session, run_id="built")

    run = dag.test()
    assert run.state == "success", _states(run)
    report = _latest_report(lake)
    assert report["score"] == 100.0 and report["statuses"]["FAIL"] == 0
    assert {c["layer"] for c in report["checks"]} >= {"bronze", "silver", "gold"}
    kinds = {c["check_id"].split(".")[0] for c in report["checks"]}
    assert kinds >= {"suite", "lineage", "accounting", "freshness", "volume", "silver_vs_bronze_keys"}
    assert len(report["data_docs"]) >= 8 and all(json.dumps(p).endswith('.html"') for p in report["data_docs"].values())
    assert len(run_results(lake, "kol_quality_nightly", run.run_id)) == len(report["checks"])
    dom = chromium_dom(lake.reports_dir / "kol_quality_nightly" / "latest.html")
    assert 'id="checks"' in dom and 'id="layer-bronze"' in dom and "the trend starts with the next run" in dom

    # New Bronze data that no transform has picked up: a WARN, not a FAIL.
    _load(lake, profiles=40, seed=72)
    warned = dag.test(run_conf={"fail_on_warn": False})
    assert warned.state == "success", _states(warned)
    report = _latest_report(lake)
    assert sorted(c["check_id"] for c in report["checks"] if c["status"] == "WARN") == [
        f"lineage.silver_up_to_date.{e}" for e in ("comments", "profiles", "videos")]
    assert report["score"] >= 95.0
    trend = chromium_dom(lake.reports_dir / "kol_quality_nightly" / "latest.html")
    assert trend.count("<circle") >= 2 * len(report["trend"])  # two runs of row counts per table
    strict = dag.test(run_conf={"fail_on_warn": True})
    assert strict.state == "failed" and _states(strict)["quality_gate"] == "failed"
    assert _states(strict)["readiness_report"] == "success"


def test_a_fail_fails_the_run_after_the_report_is_written(lake, lake_services, load_dag, smtp_inbox, slack_inbox):
    dag = load_dag("kol_quality_nightly")
    _load(lake, profiles=200, seed=73)
    get_catalog(lake).load_table("bronze.kol_comments_raw").delete(EqualTo("kafka_offset", 3))
    run = dag.test(run_conf={"layers": ["bronze"]})
    states = _states(run)
    assert run.state == "failed"
    assert states["lake_checks"] == states["table_checks"] == states["readiness_report"] == "success"
    assert states["quality_gate"] == "failed"
    report = _latest_report(lake)
    assert {c["layer"] for c in report["checks"]} == {"bronze"}  # Params scope the run
    failed = {c["check_id"]: c for c in report["checks"] if c["status"] == "FAIL"}
    assert "lineage.bronze_offsets_contiguous.comments" in failed
    assert "3..3" in failed["lineage.bronze_offsets_contiguous.comments"]["details"]
    assert not report["gate"]["passed"]
    # one grouped alert for the run (not one per check): verdict, score, each FAIL, the run's Data quality view
    [mail] = smtp_inbox
    assert mail["To"] == ALERTS_TO and "quality gate FAILED" in mail["Subject"]
    assert run.run_id in mail["Subject"] and f"score {report['score']}%" in mail["Subject"]
    body = html_part(mail)
    for check_id, check in failed.items():
        assert check_id in body and escape(str(check["threshold"])) in body
    assert escape(run_url("kol_quality_nightly", run.run_id)) in body
    [post] = slack_inbox  # and one Slack message, through the webhook connection
    assert run.run_id in post["text"] and all(check_id in post["text"] for check_id in failed)
