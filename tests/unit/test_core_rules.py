"""The rules ``lakehouse.core`` writes once and every layer reads: the consumer position a Bronze commit records,
the score and ranking rules, summary properties, branch names, Params schemas, where the project is, and the
check catalogue's entries. Values here are derived from each rule's definition, not from a run."""

import json
from pathlib import Path

import pytest

from lakehouse.core import catalogue, names, offsets, params, project, scoring
from lakehouse.core.checks import CheckResult, Status, offending_rows
from lakehouse.core.errors import AuditError, InvalidParamsError

# ---- the consumer position -----------------------------------------------------------------------------


def test_the_bronze_state_round_trips_through_a_commit_summary():
    state = offsets.BronzeState(first={0: 3, 1: 10}, next={0: 8, 1: 10}, epoch=2, cluster_id="c", topic_id="t",
                                rows_before=4)
    summary = state.to_summary()
    assert json.loads(summary[names.KAFKA_FIRST_OFFSETS]) == {"0": 3, "1": 10}
    assert json.loads(summary[names.KAFKA_NEXT_OFFSETS]) == {"0": 8, "1": 10}
    assert json.loads(summary[names.KAFKA_SOURCE]) == {"epoch": 2, "cluster-id": "c", "topic-id": "t",
                                                       "rows-before": 4}
    assert offsets.BronzeState.from_summary(summary) == state
    assert offsets.BronzeState.from_summary({}) == offsets.BronzeState()
    assert offsets.BronzeState.from_summary({names.KAFKA_NEXT_OFFSETS: '{"2": 5}'}) == offsets.BronzeState(
        next={2: 5})


def test_rows_are_the_offsets_consumed_this_epoch_plus_the_rows_before_it():
    state = offsets.BronzeState(first={0: 3, 1: 10}, next={0: 8, 1: 12, 2: 7}, rows_before=4)
    assert state.rows() == 4 + (8 - 3) + (12 - 10) + 0  # partition 2 has no first offset: nothing counted
    assert offsets.BronzeState().rows() == 0


def test_advancing_moves_the_next_offsets_and_keeps_the_rest():
    state = offsets.BronzeState(first={0: 0}, next={0: 2}, epoch=1, cluster_id="c", rows_before=9)
    moved = state.advanced({0: 5, 1: 1})
    assert (moved.first, moved.next, moved.epoch, moved.cluster_id, moved.rows_before) == (
        {0: 0}, {0: 5, 1: 1}, 1, "c", 9)
    assert state.next == {0: 2}


# ---- scores and rankings -------------------------------------------------------------------------------

def test_the_final_score_weights_trending_success_and_trust():
    assert scoring.final_score(100, 0, 0) == pytest.approx(40.0)
    assert scoring.final_score(0, 100, 0) == pytest.approx(35.0)
    assert scoring.final_score(0, 0, 100) == pytest.approx(25.0)
    assert scoring.final_score(80, 40, None) == pytest.approx((0.40 * 80 + 0.35 * 40) / 0.75)
    assert scoring.FORMULA == "0.40 trending + 0.35 success + 0.25 trust"


def test_a_ranking_is_judged_on_distinct_scores_and_their_range():
    distinct, spread = scoring.ranking_checks("gold_rank", "tiktok", "gold", "gold.kol_summary",
                                              [90.0, 80.0, 80.0, 79.0, 70.0], "top 5")
    assert (distinct.check_id, distinct.layer, distinct.table, distinct.status, distinct.observed,
            distinct.threshold, distinct.details) == (
        "gold_rank_distinct.tiktok", "gold", "gold.kol_summary", Status.PASS, 0.8, ">= 0.8",
        "4 distinct of the top 5")
    assert (spread.check_id, spread.status, spread.observed, spread.threshold, spread.details) == (
        "gold_rank_range.tiktok", Status.PASS, 20.0, ">= 10.0", "highest - lowest of the top 5")
    tight = scoring.ranking_checks("p", "youtube", "gold", "t", [50.0, 50.0, 45.5], "top")
    assert [(r.status, r.observed) for r in tight] == [(Status.FAIL, 0.6667), (Status.FAIL, 4.5)]


@pytest.mark.parametrize("scores", [[], [42.0]])
def test_fewer_than_two_scores_are_no_ranking_to_judge(scores):
    results = scoring.ranking_checks("p", "tiktok", "serving", "redis", scores, "top list")
    assert [(r.check_id, r.layer, r.table, r.status, r.observed, r.threshold, r.details) for r in results] == [
        (f"p_{kind}.tiktok", "serving", "redis", Status.SKIP, len(scores), ">= 2 ranked KOLs",
         "top list: nothing to rank") for kind in ("distinct", "range")]


# ---- names ---------------------------------------------------------------------------------------------

def test_lineage_properties_name_inputs_numbers_and_run_as_json():
    props = names.lineage_properties("kol_transform", "run 1", upstream={"b.t": 7, "a.t": None},
                                     stats={"rows": 3}, totals={"z": 1, "a": 2})
    assert props == {
        names.LINEAGE_UPSTREAM: '{"a.t": null, "b.t": 7}', names.STATS: '{"rows": 3}',
        names.AIRFLOW_DAG_ID: "kol_transform", names.AIRFLOW_RUN_ID: "run 1", "totals": '{"a": 2, "z": 1}'}


def test_a_run_branch_is_a_safe_identifier_of_bounded_length():
    assert names.run_branch("manual__2026-01-01T00:00:00+00:00") == "audit_manual__2026_01_01T00_00_00_00_00"
    assert names.run_branch("") == "audit_manual"
    assert names.run_branch("x" * 200) == "audit_" + "x" * 120
    assert names.layer_of("silver.kol_profiles") == "silver"
    assert names.layer_of("gold.a.b") == "gold"


# ---- Params --------------------------------------------------------------------------------------------

def test_positive_params_refuse_zero_and_take_one():
    assert params.validated("maintain_lake", {"retain_last": 1}) == {"retain_last": 1}
    with pytest.raises(InvalidParamsError, match=r"maintain_lake: retain_last: 0 is less than the minimum of 1"):
        params.validated("maintain_lake", {"retain_last": 0})
    with pytest.raises(InvalidParamsError, match=r"maintain_lake: retain_last: 1.5 is not of type 'integer'"):
        params.validated("maintain_lake", {"retain_last": 1.5})
    with pytest.raises(InvalidParamsError, match=r"no_params_job: params: Additional properties"):
        params.validated("no_params_job", {"x": 1})
    assert params.schema_of("no_params_job") == {"type": "object", "properties": {}, "additionalProperties": False}
    assert params.JOB_PARAMS["maintain_lake"]["retain_last"]["description"] == (
        "...but keep at least this many per table")


# ---- the project directory -----------------------------------------------------------------------------

def _project(root: Path) -> Path:
    for folder in project.PROJECT_FOLDERS:
        (root / folder).mkdir(parents=True)
    return root


def test_the_project_is_found_from_the_env_the_working_directory_airflow_home_then_the_checkout(tmp_path):
    env_dir, cwd_dir, home_dir, checkout = (_project(tmp_path / n) for n in ("env", "cwd", "home", "checkout"))
    (cwd_dir / "a" / "b").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    find = project.find_project_dir
    assert find({project.PROJECT_DIR_ENV: str(env_dir)}, cwd_dir, checkout) == env_dir
    assert find({}, cwd_dir / "a" / "b", checkout) == cwd_dir
    assert find({"AIRFLOW_HOME": str(home_dir / ".state" / "airflow")}, elsewhere, checkout) == home_dir
    assert find({}, elsewhere, checkout) == checkout
    with pytest.raises(project.ProjectNotFoundError, match=rf"^no project directory \(with dags, spark_jobs, "
                                                           rf"contracts, expectations\) at or above {elsewhere}, "
                                                           rf"{elsewhere}: run from the "
                                                           rf"project or set {project.PROJECT_DIR_ENV}"):
        find({"AIRFLOW_HOME": str(elsewhere)}, elsewhere, None)


def test_a_project_needs_every_one_of_its_folders(tmp_path):
    root = _project(tmp_path / "p")
    assert project.is_project(root)
    (root / "expectations").rmdir()
    (root / "expectations").write_text("a file is not a folder")
    assert not project.is_project(root)


# ---- checks, errors, the catalogue ---------------------------------------------------------------------

def test_offending_rows_are_read_from_a_checks_details():
    details = 'suite failed; offending rows: [{"id": 1}, 7] (first 2)'
    assert offending_rows(details) == [{"id": 1}, {"value": 7}]
    assert offending_rows("offending rows: not json") == []
    assert offending_rows('offending rows: {"id": 1}') == []
    assert offending_rows("") == [] and offending_rows(None) == []


def test_an_audit_error_names_every_failed_check_and_keeps_them():
    failed = [CheckResult("accounting.videos", "silver", "silver.kol_videos", Status.FAIL, 3, "== 4", "lost one")]
    error = AuditError("audit_run", failed)
    assert error.failed == failed
    assert str(error) == ("audit of branch 'audit_run' failed; main was not changed, the branch is kept for "
                          "inspection:\n  FAIL accounting.videos [silver.kol_videos] observed=3 threshold=== 4 "
                          "lost one")


def test_every_catalogue_entry_is_complete_and_found_by_its_own_pattern():
    layers = {"audit", "bronze", "gold", "health", "ml", "orchestration", "serving", "silver", "{layer}"}
    breaches = {"FAIL", "WARN", "never (information)", "the rule's meta.severity"}
    for spec in catalogue.CATALOGUE:
        assert spec.layer in layers and spec.breach in breaches, spec
        assert spec.matches(spec.pattern.replace("{", "").replace("}", "")) or "{" in spec.pattern, spec
        assert spec.recorded_by and spec.means.endswith(".") and spec.first_look, spec
        assert isinstance(spec.skip, str) and spec.skip != spec.first_look, spec
    assert sum(bool(spec.skip) for spec in catalogue.CATALOGUE) > 0  # some entries do SKIP, and say when
    assert catalogue.spec_of("accounting.videos").pattern == "accounting.{entity}"
    assert catalogue.first_look("no.such.check") == ""
    assert catalogue.first_look("accounting.videos") == catalogue.spec_of("accounting.videos").first_look


def test_the_gate_names_every_check_not_passing_one_per_line():
    from lakehouse.core.checks import gate, readiness_score, verdict
    from lakehouse.core.errors import QualityGateError

    results = [CheckResult("a", "silver", "t", Status.FAIL, 1, "== 2", "lost"),
               CheckResult("b", "silver", "t", Status.PASS), CheckResult("c", "gold", "g", Status.WARN, 3, ">= 4")]
    with pytest.raises(QualityGateError) as raised:
        gate(results, min_score=10.0)
    assert str(raised.value) == ("quality gate breached: score 33.33% (min 10.0%), 1 check(s) not passing:\n"
                                 "FAIL a [silver/t] observed=1 threshold=== 2 lost")
    with pytest.raises(QualityGateError, match=r"2 check\(s\) not passing:\nFAIL a .*\nWARN c \[gold/g\] "
                                               r"observed=3 threshold=>= 4$"):
        gate(results, min_score=10.0, fail_on_warn=True)
    assert readiness_score(results[1:2] * 2 + results[:1]) == 66.67 and readiness_score([]) == 0.0
    assert verdict(results[1:], min_score=50.0).passed  # a WARN passes by default (score permitting)
    assert verdict(results, min_score=12.5).min_score == verdict([], min_score=12.5).min_score == 12.5


def test_offending_rows_start_anywhere_in_the_details_and_the_first_list_counts():
    assert offending_rows('offending rows: [1]') == [{"value": 1}]
    assert offending_rows('x offending rows: [1] then offending rows: [2]') == [{"value": 1}]
    assert CheckResult("id", "gold", "t", Status.PASS).line() == "PASS id [gold/t] observed=None threshold="


def _contracts(tmp_path: Path) -> Path:
    import shutil

    directory = tmp_path / "contracts"
    shutil.copytree(project.find_project_dir() / "contracts", directory)
    return directory


def test_contracts_are_linted_file_by_file_then_across_files(tmp_path, monkeypatch):
    from lakehouse.core.contracts import (
        CONTRACTS_DIR_ENV,
        ContractError,
        contracts_dir,
        lint_contracts,
        load_contracts,
    )
    from lakehouse.core.entities import contract_problems, entities_from

    directory = _contracts(tmp_path)
    monkeypatch.setenv(CONTRACTS_DIR_ENV, str(directory))
    assert contracts_dir() == directory and contract_problems() == [] and lint_contracts(directory) == []
    assert set(load_contracts()) == set(entities_from(directory)) == {"profiles", "videos", "comments"}
    (directory / "kol-videos-raw.json").write_text("{not json")
    assert [p.split(":")[0] for p in contract_problems()] == [f"contract {directory / 'kol-videos-raw.json'}"]
    assert "not JSON (" in lint_contracts(directory)[0]
    (directory / "kol-videos-raw.json").unlink()
    assert contract_problems(directory) == [
        f"{directory} must hold one contract per topic of ['kol-comments-raw', 'kol-profiles-raw', "
        f"'kol-videos-raw']"]
    assert len(lint_contracts(directory)) == 0  # each remaining file is valid on its own
    monkeypatch.delenv(CONTRACTS_DIR_ENV)  # the directory asked about, not the configured one, is read
    assert len(contract_problems(directory)) == 1
    second = json.loads((directory / "kol-profiles-raw.json").read_text()) | {"topic": "kol-profiles-copy"}
    (directory / "kol-profiles-copy.json").write_text(json.dumps(second))  # a second contract for profiles
    with pytest.raises(ContractError, match=r"kol-profiles-raw.json: must be named <topic>.json, one per entity$"):
        load_contracts(directory)


def test_a_contract_without_a_silver_table_or_topic_is_refused_by_name(tmp_path):
    from lakehouse.core.contracts import ContractError, parse_contract
    from lakehouse.core.entities import entity_of

    doc = json.loads((project.find_project_dir() / "contracts" / "kol-videos-raw.json").read_text())
    no_table = parse_contract({k: v for k, v in doc.items() if k != "silver_table"}, "videos.json")
    assert no_table.silver_table == ""
    with pytest.raises(ContractError, match=r"^contract videos.json: entity 'videos' reads topic 'kol-videos-raw' "
                                            r"into silver.kol_videos$"):
        entity_of(no_table)
    entity = entity_of(parse_contract(doc, "videos.json"))
    assert (entity.name, entity.contract.topic) == ("videos", "kol-videos-raw")
    with pytest.raises(ContractError, match=r"^contract \?: needs topic"):
        parse_contract({"entity": "videos"})
    with pytest.raises(ContractError, match=r"^contract kol-videos-raw: needs topic"):
        parse_contract({"topic": "kol-videos-raw"})


def test_stats_are_written_with_sorted_keys():
    props = names.lineage_properties("d", "r", upstream={}, stats={"z": 1, "a": 2})
    assert props[names.STATS] == '{"a": 2, "z": 1}'


def test_two_scores_are_a_ranking_and_the_range_is_rounded_to_four_places():
    distinct, spread = scoring.ranking_checks("p", "tiktok", "gold", "gold.kol_summary", [10.123456, 0.0], "top 2")
    assert (distinct.status, spread.status, spread.observed) == (Status.PASS, Status.PASS, 10.1235)
    assert (spread.layer, spread.table) == ("gold", "gold.kol_summary")
    short = scoring.ranking_checks("p", "tiktok", "gold", "t", [3.0, 2.0, 1.0], "top 3")
    assert [r.status for r in short] == [Status.PASS, Status.FAIL]  # three is judged: distinct, but a 2-point range


def test_a_comparison_without_details_records_none():
    from lakehouse.core.checks import compare

    assert compare("c", "gold", "t", 1, 2, op="<=").details == ""
