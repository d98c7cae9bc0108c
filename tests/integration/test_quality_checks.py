"""Each kind of check, passing and failing, on real Iceberg tables (session Spark, pyiceberg, GX)."""

import json

import pytest

from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.entities import entities
from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.transform import build_gold, build_silver
from lakehouse.quality import lineage
from lakehouse.quality.lake_checks import lake_checks
from lakehouse.quality.store import failed_runs, record, run_results
from lakehouse.quality.suites import SuiteRunner
from lakehouse.quality.table_checks import table_checks
from lakehouse.quality.volume import volume_checks

pytestmark = pytest.mark.integration


def _load(settings, profiles=300, seed=61):
    produce_records(generate(DatasetSpec(profiles=profiles, bad_fraction=0.02, seed=seed)).all_records(), settings)
    for topic in TOPICS.values():
        ingest_topic(topic, settings, log=lambda *_: None)


@pytest.fixture
def built(lake, lake_services, spark_session):
    """A small lake, Bronze -> Silver -> Gold published on main."""
    _load(lake)
    build_silver(spark_session, run_id="r1")
    build_gold(spark_session, run_id="r1")
    return lake


def _by_id(results):
    return {r.check_id: r for r in results}


def test_a_consistent_lake_passes_every_check_kind(built, spark_session, tmp_path):
    runner = SuiteRunner(tmp_path / "reports", "nightly__r1")
    results = lake_checks(spark_session, None, runner=runner)
    failing = [(r.check_id, r.status, r.details) for r in results if r.status != Status.PASS]
    assert failing == [("gold.trino_matches_spark", Status.SKIP,  # no Trino server here
                        "no Trino endpoint: set LAKEHOUSE_TRINO_URL (the full stack sets it)")]
    ids = _by_id(results)
    for kind in ("lineage.bronze_offsets_contiguous.profiles", "lineage.silver_covers_bronze.videos",
                 "lineage.silver_up_to_date.comments", "lineage.gold_from_current_silver.profiles",
                 "lineage.gold_row_traces_to_bronze", "accounting.comments", "gold_vs_silver_kols",
                 "suite.bronze.kol_profiles_raw.expect_compound_columns_to_be_unique.kafka_partition+kafka_offset"):
        assert kind in ids, kind
    assert "kol-profiles-raw[" in ids["lineage.gold_row_traces_to_bronze"].details
    docs = runner.docs_pages()
    assert set(docs) >= {"bronze.kol_profiles_raw", "silver.kol_profiles", "gold.kol_summary"}
    assert all(p.endswith(".html") and (tmp_path / "reports").as_posix() in p for p in docs.values())


def test_a_gap_in_bronze_offsets_is_named_by_partition_and_offset(built, spark_session):
    from pyiceberg.expressions import And, EqualTo

    get_catalog(built).load_table("bronze.kol_videos_raw").delete(And(EqualTo("kafka_partition", 1),
                                                                      EqualTo("kafka_offset", 7)))
    check = lineage.bronze_offsets_contiguous(spark_session, get_catalog(built), entities()["videos"])
    assert check.status == Status.FAIL
    assert "partition 1: 1 offset(s) missing" in check.details and "7..7" in check.details


def test_gold_behind_silver_and_silver_behind_bronze_are_caught(built, spark_session):
    _load(built, profiles=50, seed=62)  # new Bronze commits, not yet transformed
    ids = _by_id(lake_checks(spark_session, None, layers=("silver",), suites={}))
    assert ids["lineage.silver_up_to_date.profiles"].status == Status.WARN
    assert ids["lineage.silver_up_to_date.profiles"].observed >= 1
    build_silver(spark_session, run_id="r2")  # Silver moves on, Gold does not
    ids = _by_id(lake_checks(spark_session, None, layers=("silver", "gold"), suites={}))
    assert ids["lineage.silver_up_to_date.profiles"].status == Status.PASS
    stale = ids["lineage.gold_from_current_silver.profiles"]
    assert stale.status == Status.FAIL and "Gold's recorded silver.kol_profiles data snapshot" in stale.details


def test_a_gold_row_whose_bronze_record_is_gone_breaks_the_trace(built, spark_session):
    spark_session.sql("UPDATE lake.silver.kol_profiles SET kafka_offset = kafka_offset + 1000000")
    check = lineage.gold_rows_trace_to_bronze(spark_session, get_catalog(built), None)
    assert check.status == Status.FAIL and check.observed == 0
    assert "no such record in bronze.kol_profiles_raw" in check.details


def test_freshness_passes_within_the_age_and_fails_beyond_it(built):
    ok = _by_id(table_checks(dag_id="t", run_id="fresh", settings=built))
    assert ok["freshness.gold.kol_summary"].status == Status.PASS
    stale = _by_id(table_checks(dag_id="t", run_id="stale", settings=built.replace(freshness_max_age_hours=1e-6)))
    assert stale["freshness.silver.kol_profiles"].status == Status.FAIL
    assert {r.check_id for r in run_results(built, "t", "stale")} == set(stale)


def test_volume_anomaly_fires_on_an_injected_drop(catalog, settings):
    for i, total in enumerate([1000, 2000, 3010, 3990, 5000]):  # steady growth of ~1000 rows a run
        checks = volume_checks(settings, "nightly", {"silver.kol_profiles": ("silver", total)}, run_id=f"r{i}")
        record(settings, dag_id="nightly", run_id=f"r{i}", source="table_checks", results=checks)
    assert checks[0].status == Status.PASS  # 4 deltas of history: judged, and normal
    table = {"silver.kol_profiles": ("silver", 5100)}  # a silent 90 % drop in arrivals, every row valid
    dropped = volume_checks(settings, "nightly", table, run_id="r5")[0]
    assert dropped.status == Status.WARN and dropped.extra["delta"] == 100
    # a retried run does not count its own earlier attempt as history
    record(settings, dag_id="nightly", run_id="r5", source="table_checks", results=[dropped])
    assert volume_checks(settings, "nightly", table, run_id="r5")[0].status == Status.WARN

    # runs whose gate failed stay out of the baseline: three more runs of ~100 rows, each failing on another
    # check, leave the normal at ~1,000 rows a run
    for i, total in enumerate([5200, 5300, 5400], start=6):
        record(settings, dag_id="nightly", run_id=f"r{i}", source="table_checks",
               results=volume_checks(settings, "nightly", {"silver.kol_profiles": ("silver", total)},
                                     run_id=f"r{i}") + [CheckResult("x", "silver", "t", Status.FAIL)])
    assert failed_runs(settings, "nightly") == {"r6", "r7", "r8"}
    judged = volume_checks(settings, "nightly", {"silver.kol_profiles": ("silver", 5500)}, run_id="r9")[0]
    assert judged.status == Status.WARN and "median of the last 5 comparable runs 1000" in judged.details


def test_a_new_suite_file_for_a_new_table_is_picked_up_without_code(built, spark_session, tmp_path, monkeypatch):
    spark_session.sql("CREATE TABLE lake.gold.kol_leaderboard USING iceberg AS "
                      "SELECT platform, kol_id, trending_score FROM lake.gold.kol_summary ORDER BY trending_score "
                      "DESC LIMIT 10")
    suites = tmp_path / "expectations" / "gold"
    suites.mkdir(parents=True)
    (suites / "kol_leaderboard.json").write_text(json.dumps({"name": "gold.kol_leaderboard", "expectations": [
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 11}, "meta": {"severity": "warning"}}]}))
    monkeypatch.setenv("LAKEHOUSE_EXPECTATIONS_DIR", str(tmp_path / "expectations"))
    results = lake_checks(spark_session, None, layers=("gold",), tables=("gold.kol_leaderboard",))
    assert [(r.check_id, r.status, r.observed) for r in results] == [
        ("suite.gold.kol_leaderboard.expect_table_row_count_to_equal.table", Status.WARN, 10)]
