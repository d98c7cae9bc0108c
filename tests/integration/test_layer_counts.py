"""Record counts per layer from the tables themselves (pyiceberg, no Spark): what each count reads, and how the
layer checks compare them, on a small lake built commit by commit."""

import json

import pyarrow as pa
import pytest
from conftest import make_settings, use_settings

from lakehouse.core.checks import Status
from lakehouse.core.entities import entities
from lakehouse.core.names import AIRFLOW_RUN_ID, GOLD_SUMMARY_TABLE, QUARANTINE_TABLE, TOTALS
from lakehouse.iceberg.filters import equal
from lakehouse.quality import counts

pytestmark = pytest.mark.integration

IDS = pa.schema([("id", pa.int64())])
QUARANTINE = pa.schema([("id", pa.int64()), ("source_table", pa.string())])
# rows per entity: bronze, silver, duplicates, quarantined, erased (Bronze = Silver + duplicates + quarantined +
# erased for all but comments, whose Silver lost a row)
LAKE = {"profiles": (8, 4, 1, 1, 2), "videos": (5, 3, 2, 0, 0), "comments": (4, 2, 0, 1, 0)}


def _append(table, rows: int, start: int = 0, **summary: str) -> None:
    table.append(pa.Table.from_pylist([{"id": i} for i in range(start, start + rows)], schema=IDS),
                 snapshot_properties=summary)


@pytest.fixture
def lake(catalog, settings, monkeypatch, tmp_path):
    """Every layer table the counts read, filled per :data:`LAKE`, Gold with one row per Silver profile.

    The process's own settings then point at an empty lake elsewhere: what a count reads comes from the
    settings it was given, never from the environment."""
    quarantine = catalog.create_table(QUARANTINE_TABLE, QUARANTINE)
    for name, (bronze, silver, duplicates, quarantined, erased) in LAKE.items():
        entity = entities()[name]
        _append(catalog.create_table(entity.bronze_table, IDS), bronze, **{AIRFLOW_RUN_ID: "run-1"})
        totals = {"duplicates": duplicates} if duplicates else {"rebuilt_at": 1}  # none counted: no key
        totals.update({"erased": erased} if erased else {})
        _append(catalog.create_table(entity.silver_table, IDS), silver, **{TOTALS: json.dumps(totals)})
        quarantine.append(pa.Table.from_pylist(
            [{"id": i, "source_table": entity.bronze_table} for i in range(quarantined)], schema=QUARANTINE))
    _append(catalog.create_table(GOLD_SUMMARY_TABLE, IDS), LAKE["profiles"][1])
    use_settings(monkeypatch, make_settings(tmp_path / "elsewhere"))
    return catalog


def test_layer_counts_read_every_layer_of_every_entity(lake, settings):
    assert counts.layer_counts(settings) == {
        "bronze": {name: v[0] for name, v in LAKE.items()},
        "silver": {name: v[1] for name, v in LAKE.items()},
        "duplicates": {name: v[2] for name, v in LAKE.items()},
        "quarantine": {name: v[3] for name, v in LAKE.items()},
        "erased": {name: v[4] for name, v in LAKE.items()},
        "gold": {"kol_summary": LAKE["profiles"][1]},
    }


def test_the_layer_checks_pass_what_adds_up_and_name_what_does_not(lake, settings):
    produced = {entities()[name].topic: v[0] for name, v in LAKE.items()}
    produced[entities()["videos"].topic] += 1  # one video produced never reached Bronze
    results = {r.check_id: r for r in counts.check_layer_counts(settings, produced=produced, run_id="run-1")}

    assert {cid for cid, r in results.items() if r.status is Status.FAIL} == {
        "bronze_vs_produced.videos", "accounting.comments"}
    assert (results["bronze_vs_produced.videos"].observed, results["bronze_vs_produced.videos"].threshold) == (
        5, "== 6")
    accounting = results["accounting.comments"]
    assert (accounting.observed, accounting.threshold, accounting.table) == (3, "== 4", "silver.kol_comments")
    assert accounting.details == "silver 2 + duplicates 0 + quarantined 1 + erased 0 vs bronze 4"
    profiles = results["accounting.profiles"]  # its erased records count: 4 + 1 + 1 + 2 == 8
    assert (profiles.status, profiles.observed) == (Status.PASS, 8) and "+ erased 2 " in profiles.details
    assert results["gold_vs_silver_kols"].status is Status.PASS
    assert len(results) == 3 * 2 + 1  # per entity: produced and accounting; Gold once
    assert {cid.split(".")[0]: r.layer for cid, r in results.items()} == {
        "bronze_vs_produced": "bronze", "accounting": "silver", "gold_vs_silver_kols": "gold"}
    assert results["bronze_vs_produced.videos"].details == "rows this run appended vs messages produced"


def test_without_produced_counts_the_checks_are_the_accounting_and_gold(lake, settings):
    ids = [r.check_id for r in counts.check_layer_counts(settings)]
    assert ids == ["accounting.profiles", "accounting.videos", "accounting.comments", "gold_vs_silver_kols"]


def test_a_missing_bronze_table_is_a_fail_not_a_zero(catalog, settings):
    results = counts.check_bronze_counts(settings, produced={}, run_id="run-1")
    assert [(r.check_id, r.status, r.details) for r in results] == [
        (f"bronze_exists.{name}", Status.FAIL, "table missing") for name in entities()]
    assert [r.check_id for r in counts.check_layer_counts(settings, counts=_empty_counts())] == [
        *(f"bronze_exists.{name}" for name in entities()), "gold_vs_silver_kols"]


def _empty_counts() -> dict:
    return {layer: dict.fromkeys(entities(), 0) for layer in ("bronze", "silver", "quarantine", "duplicates",
                                                               "erased")} | {
        "gold": {"kol_summary": 0}}


def test_bronze_vs_produced_counts_only_what_this_run_appended(lake, settings):
    bronze = lake.load_table(entities()["profiles"].bronze_table)
    _append(bronze, 3, start=100, **{AIRFLOW_RUN_ID: "run-2"})
    bronze.refresh()
    topic = entities()["profiles"].topic
    assert counts.rows_appended_by_run(bronze, "run-2") == 3
    assert counts.rows_appended_by_run(bronze, "run-3") == 0
    by_run = counts.bronze_vs_produced(bronze, "profiles", {topic: 3}, "run-2")
    assert (by_run.check_id, by_run.table, by_run.status, by_run.observed) == (
        "bronze_vs_produced.profiles", "bronze.kol_profiles_raw", Status.PASS, 3)
    whole = counts.bronze_vs_produced(bronze, "profiles", {topic: 11}, "")  # no run id: the table's rows
    assert (whole.status, whole.observed) == (Status.PASS, 11)
    assert counts.bronze_vs_produced(bronze, "profiles", {topic: 11}, "", rows=8).observed == 8
    assert counts.bronze_vs_produced(bronze, "profiles", {}, "").threshold == "== 0"
    bronze.delete("id >= 100", snapshot_properties={AIRFLOW_RUN_ID: "run-2"})  # a commit that added nothing
    assert counts.rows_appended_by_run(bronze.refresh(), "run-2") == 3
    by_layer = {r.check_id: r.observed for r in counts.check_layer_counts(settings, produced={topic: 3},
                                                                          run_id="run-2")}
    assert by_layer["bronze_vs_produced.profiles"] == 3
    whole_tables = {r.check_id: r.observed for r in counts.check_layer_counts(settings, produced={})}
    assert whole_tables["bronze_vs_produced.profiles"] == LAKE["profiles"][0]  # no run id: every row
    # run-2 appended nothing to the other topics' tables, and produced nothing to them: they pass as well
    assert [r.status for r in counts.check_bronze_counts(settings, produced={topic: 3}, run_id="run-2")] == [
        Status.PASS] * 3
    assert [r.observed for r in counts.check_bronze_counts(settings, produced={}, run_id="run-1")] == [
        v[0] for v in LAKE.values()]


def test_total_records_are_live_rows_deletes_applied(lake):
    silver = lake.load_table(entities()["profiles"].silver_table)
    silver.delete(equal("id", 0))
    assert counts.total_records(silver.refresh()) == LAKE["profiles"][1] - 1
    assert counts.total_records(None) == 0
    assert counts.quarantined_from(None, "anything") == 0


def test_empty_tables_count_zero_and_hold_no_totals(catalog):
    empty = catalog.create_table("silver.kol_profiles", IDS)
    assert counts.total_records(empty) == 0
    assert counts.silver_totals(empty) == {}
    _append(empty, 1)  # a commit, but no totals recorded by any
    assert counts.silver_totals(empty.refresh()) == {}
    assert counts.silver_totals(None) == {}
    assert counts.quarantined_from(catalog.create_table(QUARANTINE_TABLE, QUARANTINE), "bronze.x") == 0


def test_silver_totals_are_the_newest_commit_that_recorded_them(lake):
    silver = lake.load_table(entities()["profiles"].silver_table)
    _append(silver, 1, start=50, **{TOTALS: json.dumps({"duplicates": 7})})
    _append(silver, 1, start=60)  # a commit without totals does not hide them
    assert counts.silver_totals(silver.refresh()) == {"duplicates": 7}


@pytest.mark.parametrize(("silver", "keys", "status", "ratio"), [
    (95, 100, Status.PASS, 0.95), (94, 100, Status.FAIL, 0.94), (0, 0, Status.PASS, 1.0),
    (2, 3, Status.FAIL, 0.6667)])
def test_silver_keeps_95_percent_of_distinct_bronze_keys(silver, keys, status, ratio):
    key_check, accounting = counts.silver_checks("profiles", "silver.kol_profiles", bronze_rows=silver + 3,
                                                 bronze_keys=keys, silver_rows=silver, duplicates=2, quarantined=1)
    assert (key_check.check_id, key_check.layer, key_check.table, key_check.status, key_check.observed,
            key_check.threshold) == ("silver_vs_bronze_keys.profiles", "silver", "silver.kol_profiles", status,
                                     ratio, ">= 0.95")
    assert key_check.details == f"silver {silver} / distinct bronze business keys {keys}"
    assert (accounting.layer, accounting.status, accounting.observed) == ("silver", Status.PASS, silver + 3)


def test_silver_checks_without_bronze_keys_leave_the_key_check_to_spark():
    (accounting,) = counts.silver_checks("videos", "silver.kol_videos", bronze_rows=5, bronze_keys=None,
                                         silver_rows=3, duplicates=1, quarantined=0, detail=" (increment)")
    assert (accounting.check_id, accounting.status, accounting.details) == (
        "accounting.videos", Status.FAIL, "silver 3 + duplicates 1 + quarantined 0 + erased 0 vs bronze 5 (increment)")
    (erased,) = counts.silver_checks("videos", "silver.kol_videos", bronze_rows=5, bronze_keys=None, silver_rows=3,
                                     duplicates=1, quarantined=0, erased=1)
    assert (erased.status, erased.observed) == (Status.PASS, 5)


def test_gold_has_one_row_per_silver_kol():
    assert counts.gold_check(4, 4).status is Status.PASS
    check = counts.gold_check(3, 4)
    assert (check.check_id, check.layer, check.table, check.status, check.details) == (
        "gold_vs_silver_kols", "gold", GOLD_SUMMARY_TABLE, Status.FAIL, "one Gold row per Silver KOL")
    missing = counts.bronze_missing("videos")
    assert (missing.check_id, missing.layer, missing.table) == ("bronze_exists.videos", "bronze",
                                                                "bronze.kol_videos_raw")
