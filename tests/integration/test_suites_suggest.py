"""`lakehouse suites suggest`: a draft suite learned from a real Iceberg table passes on that table and
catches a crafted break (session Spark, GX on Spark)."""

import json

import pytest

from lakehouse.core.checks import Status
from lakehouse.quality.suites import SuiteRunner, load_suite
from lakehouse.quality.suites.suggest import suggest

pytestmark = pytest.mark.integration
KEY = ("platform", "video_id")


def _videos(spark, n=200):
    rows = [(("tiktok", "youtube")[i % 2], f"v{i}", f"k{i % 40}", 100 + 7 * i, i % 50, None if i % 3 else "clip")
            for i in range(n)]
    return spark.createDataFrame(rows, "platform string, video_id string, kol_id string, views bigint, "
                                       "likes bigint, title string")


def test_a_suggested_suite_passes_where_it_was_learned_and_catches_a_break(lake, spark_session, tmp_path):
    spark = spark_session
    _videos(spark).writeTo("lake.silver.kol_videos").using("iceberg").create()
    result = suggest(spark, "silver.kol_videos", tmp_path, key=KEY)
    path = tmp_path / "silver" / "kol_videos.json"
    assert result.written and result.path == path and result.added > 0
    rules = {(e["type"], e["kwargs"].get("column")): e for e in json.loads(path.read_text())["expectations"]}
    assert all(e["meta"] == {"severity": "warning", "suggested": True} for e in rules.values())
    assert rules[("expect_column_values_to_be_in_set", "platform")]["kwargs"]["value_set"] == ["tiktok", "youtube"]
    assert ("expect_column_values_to_not_be_null", "title") not in rules  # 2 in 3 titles are null
    views = rules[("expect_column_values_to_be_between", "views")]["kwargs"]
    assert views["min_value"] == 0 and 1493 < views["max_value"] < 1700  # 100 .. 1493, widened by 10 %
    assert ("expect_column_values_to_be_in_set", "kol_id") not in rules  # 40 distinct: not a value set
    assert rules[("expect_compound_columns_to_be_unique", None)]["kwargs"]["column_list"] == list(KEY)

    suite, runner = load_suite(path), SuiteRunner()
    learned = runner.validate(spark.table("lake.silver.kol_videos"), "silver.kol_videos", suite, layer="silver")
    assert learned and all(r.status == Status.PASS for r in learned), [r.line() for r in learned]
    broken = _videos(spark, 20).union(spark.createDataFrame(
        [("myspace", "v0", "k1", -5, 1, None), ("tiktok", "v0", "k1", 900_000, 1, "clip")], _videos(spark, 1).schema))
    warned = {r.check_id for r in runner.validate(broken, "silver.kol_videos", suite, layer="silver")
              if r.status == Status.WARN}
    assert warned >= {"suite.silver.kol_videos.expect_column_values_to_be_in_set.platform",
                      "suite.silver.kol_videos.expect_column_values_to_be_between.views",
                      "suite.silver.kol_videos.expect_compound_columns_to_be_unique.platform+video_id"}

    assert not suggest(spark, "silver.kol_videos", tmp_path, key=KEY).written  # never overwritten
    edited = json.loads(path.read_text())
    edited["expectations"] = [e for e in edited["expectations"] if e["kwargs"].get("column") != "likes"]
    edited["expectations"][0]["meta"]["severity"] = "error"  # a reviewer promoted a rule
    path.write_text(json.dumps(edited))
    merged = suggest(spark, "silver.kol_videos", tmp_path, key=KEY, force=True)
    after = json.loads(path.read_text())["expectations"]
    assert merged.added == len(after) - merged.kept > 0 and after[0]["meta"]["severity"] == "error"
    assert any(e["kwargs"].get("column") == "likes" for e in after)
