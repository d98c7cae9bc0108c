"""The HTML report: grouped by layer, escaped, relative Data Docs links, a chart per table."""

import json
from pathlib import Path

from lakehouse.core.checks import CheckResult, Status
from lakehouse.quality.html_report import render_html
from lakehouse.quality.report import build_report


def _report(**extra):
    checks = [CheckResult("suite.gold.x", "gold", "gold.kol_summary", Status.FAIL, 3.5, "<= 1", "<script>x</script>"),
              CheckResult("accounting.profiles", "silver", "silver.kol_profiles", Status.PASS, 10, "== 10"),
              CheckResult("task.ingest", "orchestration", "-", Status.WARN)]
    return build_report(dag_id="d", run_id="r", counts={}, timings={}, checks=checks, extra=extra)


def test_checks_are_grouped_by_layer_in_pipeline_order_and_escaped():
    html = render_html(_report())
    assert html.index('id="layer-orchestration"') < html.index('id="layer-silver"') < html.index('id="layer-gold"')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "FAILED" in html and html.count('class="check ') == 3


def test_data_docs_links_are_relative_to_the_page_and_trend_is_drawn(tmp_path):
    docs = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations" / "gold.html"
    trend = {"gold.kol_summary": [{"run_id": f"r{i}", "recorded_at": "", "rows": 100 * i} for i in range(1, 5)]}
    offending = docs.with_name("gold-offending.html")
    html = render_html(_report(data_docs={"gold.kol_summary": str(docs), "gold.kol_summary.offending": str(offending)},
                               trend=trend), tmp_path / "d" / "r.json")
    assert 'href="../gx/uncommitted/data_docs/local_site/validations/gold.html">Data Docs' in html
    assert 'href="../gx/uncommitted/data_docs/local_site/validations/gold-offending.html">offending rows' in html
    assert html.count("<circle") == 4 and "r4: 400 rows" in html
    assert Path(str(docs)).name in html


def test_each_failure_links_to_its_offending_rows_with_their_kafka_records():
    rows = [{"platform": "tiktok", "kol_id": "k1", "kafka_partition": 2, "kafka_offset": 17, "followers_count": -5}]
    failed = CheckResult("suite.silver.kol_profiles.expect_column_values_to_be_between.followers_count", "silver",
                         "silver.kol_profiles", Status.FAIL, 5.0, "{}",
                         f"1 unexpected; offending rows: {json.dumps(rows)}")
    report = build_report(dag_id="d", run_id="r", counts={}, timings={}, checks=[
        failed, CheckResult("accounting.profiles", "silver", "silver.kol_profiles", Status.PASS, 1, "== 1",
                            "offending rows: not a list")])
    html = render_html(report)
    assert '<a href="#rows-1">1 offending row(s)</a>' in html and '<h3 id="rows-1">' in html
    section = html[html.index("<h2>Offending rows</h2>"):]
    assert "<th>kafka_partition</th><th>kafka_offset</th>" in section and "<td>17</td>" in section
    assert html.count("offending row(s)</a>") == 1  # a passing check links to nothing


def test_old_reports_and_gx_validation_results_are_pruned_and_the_rest_stays(tmp_path):
    import os
    import time

    from lakehouse.quality.report import prune_reports

    old, new = time.time() - 40 * 86400, time.time()
    files = {
        "kol_transform/latest.json": old, "kol_transform/run_1.json": old, "kol_transform/run_2.html": new,
        "gx/uncommitted/validations/silver/kol_profiles/run_1/x.json": old,
        "gx/uncommitted/validations/silver/kol_profiles/run_2/x.json": new,
        "gx/uncommitted/data_docs/local_site/validations/silver/kol_profiles/run_1/x.html": old,
        "gx/uncommitted/data_docs/local_site/index.html": old, "gx/expectations/silver/kol_profiles.json": old,
    }
    for name, mtime in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (mtime, mtime))
    assert prune_reports(tmp_path, older_than=time.time() - 30 * 86400) == 3
    left = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert left == {"kol_transform/latest.json", "kol_transform/run_2.html",
                    "gx/uncommitted/validations/silver/kol_profiles/run_2/x.json",
                    "gx/uncommitted/data_docs/local_site/index.html", "gx/expectations/silver/kol_profiles.json"}
    assert not (tmp_path / "gx/uncommitted/validations/silver/kol_profiles/run_1").exists()  # no empty dirs left


def test_a_check_that_did_not_pass_shows_what_the_catalogue_says_to_look_at_first():
    from lakehouse.core.catalogue import first_look
    from lakehouse.quality.report import render_terminal

    checks = [CheckResult("freshness.silver.kol_videos", "silver", "silver.kol_videos", Status.FAIL, None, "<= 26h"),
              CheckResult("accounting.profiles", "silver", "silver.kol_profiles", Status.PASS, 10, "== 10")]
    report = build_report(dag_id="d", run_id="r", counts={}, timings={}, checks=checks)
    hint = first_look("freshness.silver.kol_videos")
    assert hint and hint.count("`") == 0 and html_hint_count(render_html(report)) == 1  # the FAIL only
    assert f"look at: {hint}" in render_terminal(report)
    assert "Look at: Run <code>lakehouse suites lint</code>" in render_html(build_report(
        dag_id="d", run_id="r", counts={}, timings={},
        checks=[CheckResult("suite.gold.x", "gold", "gold.x", Status.FAIL, details="no such table")]))


def html_hint_count(html: str) -> int:
    return html.count("<div class=hint>")
