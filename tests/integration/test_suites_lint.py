"""`lakehouse suites lint` against a real Iceberg catalog and real GX suite parsing."""

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest

from lakehouse.quality.suites import SuiteError, lint, load_suite

pytestmark = pytest.mark.integration


def _suite(*expectations):
    return {"name": "x", "expectations": [{"type": t, "kwargs": kw, "meta": {}} for t, kw in expectations]}


@pytest.fixture
def suites_dir(tmp_path, catalog):
    catalog.create_table("silver.kol_profiles", schema=pa.schema([
        ("platform", pa.string()), ("kol_id", pa.string()), ("username", pa.string()),
        ("followers_count", pa.int64())]))
    root = tmp_path / "expectations"
    (root / "silver").mkdir(parents=True)
    return root


def _write(root, name, content):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_good_suite_has_no_problems(suites_dir, catalog):
    _write(suites_dir, "silver/kol_profiles.json", _suite(
        ("expect_column_values_to_not_be_null", {"column": "username"}),
        ("expect_compound_columns_to_be_unique", {"column_list": ["platform", "kol_id"]})))
    assert lint(suites_dir, catalog) == []


def test_unknown_column_type_json_and_table_are_each_reported(suites_dir, catalog):
    _write(suites_dir, "silver/kol_profiles.json", _suite(
        ("expect_column_values_to_not_be_null", {"column": "username"}),
        ("expect_column_values_to_be_between", {"column": "follower_count", "min_value": 0})))
    _write(suites_dir, "silver/kol_videos.json", _suite(("expect_column_values_to_be_purple", {"column": "x"})))
    _write(suites_dir, "gold/kol_summary.json", '{"name": "gold.kol_summary", "expectations": [')
    _write(suites_dir, "silver/kol_profile.json", _suite(("expect_column_values_to_not_be_null", {"column": "x"})))
    problems = {p.file.rsplit("expectations/", 1)[1]: p for p in lint(suites_dir, catalog, known_tables=(
        "silver.kol_profiles", "silver.kol_videos", "gold.kol_summary"))}
    assert set(problems) == {"silver/kol_profiles.json", "silver/kol_videos.json", "gold/kol_summary.json",
                             "silver/kol_profile.json"}
    col = problems["silver/kol_profiles.json"]
    assert col.expectation == "#2 expect_column_values_to_be_between" and "'follower_count'" in col.reason
    assert "expect_column_values_to_be_purple" in problems["silver/kol_videos.json"].reason
    assert "not valid JSON" in problems["gold/kol_summary.json"].reason
    assert "no table silver.kol_profile" in problems["silver/kol_profile.json"].reason


def test_a_mistyped_expectation_is_never_silently_dropped(tmp_path):
    """GX itself logs and drops unknown expectation types; the loader refuses the suite."""
    path = _write(tmp_path, "silver/kol_profiles.json", _suite(
        ("expect_column_values_to_not_be_null", {"column": "username"}),
        ("expect_column_values_to_not_be_nul", {"column": "kol_id"})))
    with pytest.raises(SuiteError, match="#2 'expect_column_values_to_not_be_nul'"):
        load_suite(path)


def test_cli_prints_file_expectation_reason_and_fails(suites_dir, settings):
    _write(suites_dir, "silver/kol_profiles.json", _suite(("expect_column_values_to_be_in_set",
                                                          {"column": "plattform", "value_set": ["tiktok"]})))
    out = subprocess.run([sys.executable, "-m", "lakehouse.cli", "suites", "lint", "--dir", str(suites_dir)],
                         capture_output=True, text=True, env=os.environ.copy())
    assert out.returncode == 1
    assert "kol_profiles.json: #1 expect_column_values_to_be_in_set: column 'plattform'" in out.stdout
    assert "1 problem(s)" in out.stdout


def test_a_misspelled_type_is_one_line_and_no_gx_traceback_unless_verbose(suites_dir, settings):
    _write(suites_dir, "silver/kol_profiles.json", _suite(("expect_column_values_to_not_be_nul", {"column": "x"})))
    command = [sys.executable, "-m", "lakehouse.cli", "suites", "lint", "--dir", str(suites_dir)]
    out = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    assert out.returncode == 1 and out.stderr == ""  # GX's own log of the dropped rule is not a crash to read
    assert out.stdout.splitlines() == [
        f"{suites_dir / 'silver' / 'kol_profiles.json'}: -: expectation #1 'expect_column_values_to_not_be_nul': "
        "unknown expectation type or invalid kwargs", "suites lint: 1 file(s), 1 problem(s)"]
    verbose = subprocess.run([*command[:3], "-v", *command[3:]], capture_output=True, text=True,
                             env=os.environ.copy())
    assert "great_expectations: Could not add expectation" in verbose.stderr and "Traceback" in verbose.stderr



def test_sql_running_expectations_need_the_suites_opt_in_and_a_reviewed_allow_list_entry(suites_dir, catalog):
    """unexpected_rows_expectation runs arbitrary SQL: refused until the file opts in and
    expectations/sql_allowlist.json names that exact query for that table."""
    from lakehouse.quality.suites.files import SQL_ALLOWLIST

    query = "SELECT * FROM {batch} WHERE followers_count < 0"
    suite = _suite(("expect_column_values_to_not_be_null", {"column": "username"}),
                   ("unexpected_rows_expectation", {"unexpected_rows_query": query}))
    path = _write(suites_dir, "silver/kol_profiles.json", suite)

    def problem() -> str:
        return " | ".join(p.reason for p in lint(suites_dir, catalog))

    assert "#2 unexpected_rows_expectation runs SQL on the lake" in problem()
    assert "does not opt in (meta.allow_sql: true)" in problem()
    _write(suites_dir, "silver/kol_profiles.json", {**suite, "meta": {"allow_sql": True}})
    assert f"{SQL_ALLOWLIST} does not name this query for suite 'silver.kol_profiles'" in problem()
    _write(suites_dir, SQL_ALLOWLIST, {"allowed": [{"suite": "silver.kol_profiles", "query": query,
                                                     "reviewed_by": "data-eng, 2026-11-23"}]})
    assert lint(suites_dir, catalog) == [] and len(load_suite(path).expectations) == 2
    _write(suites_dir, SQL_ALLOWLIST, {"allowed": [{"suite": "silver.kol_videos", "query": query}]})
    assert "does not name this query" in problem()  # reviewed for another table only
    edited = query.replace("< 0", "< 0 OR 1 = 1")
    suite["expectations"][1]["kwargs"]["unexpected_rows_query"] = edited
    _write(suites_dir, SQL_ALLOWLIST, {"allowed": [{"suite": "silver.kol_profiles", "query": query}]})
    _write(suites_dir, "silver/kol_profiles.json", {**suite, "meta": {"allow_sql": True}})
    assert "OR 1 = 1" in problem()  # an edited query is a new query: reviewed again
