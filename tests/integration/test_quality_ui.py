"""The "Data quality" plugin inside Airflow's own API server app: auth, pages, and hostile paths."""

from __future__ import annotations

import json
import os

import pytest

from lakehouse.core.checks import CheckResult, Status
from lakehouse.orchestration.quality_ui import URL_PREFIX, check_history, report_file
from lakehouse.quality.report import build_report, write_report

pytestmark = pytest.mark.integration


def _report(reports_dir, run_id: str, observed: int, status=Status.PASS) -> None:
    checks = [CheckResult("accounting.profiles", "silver", "silver.kol_profiles", status, observed, "== 100"),
              CheckResult("gold_vs_silver_kols", "gold", "gold.kol_summary", Status.PASS, 7, "== 7")]
    write_report(build_report(dag_id="kol_quality_nightly", run_id=run_id, counts={}, timings={}, checks=checks),
                 reports_dir)


@pytest.fixture
def reports(settings):
    _report(settings.reports_dir, "scheduled__2026-11-20T02:00:00+00:00", 100)
    _report(settings.reports_dir, "scheduled__2026-11-21T02:00:00+00:00", 90, Status.FAIL)
    (settings.reports_dir / "gx").mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / "gx" / "index.html").write_text("<html>docs</html>")
    (settings.state_dir / "secret.txt").write_text("not for the UI")
    return settings.reports_dir


@pytest.fixture
def api(airflow_db, reports):
    """Airflow's API server app (plugins mounted) in-process, and a token from its auth manager."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(create_app(apps="core"), follow_redirects=False)
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    return client, {"Authorization": f"Bearer {token}"}


def test_anonymous_requests_are_refused_and_a_logged_in_user_sees_the_pages(api):
    client, auth = api
    for path in ("/", "/dags/kol_quality_nightly/checks/accounting.profiles", "/files/gx/index.html"):
        assert client.get(URL_PREFIX + path).status_code == 401, path
    index = client.get(URL_PREFIX + "/", headers=auth)
    assert index.status_code == 200
    assert "kol_quality_nightly" in index.text and "FAILED" in index.text and "PASSED" in index.text
    run = client.get(URL_PREFIX + "/dags/kol_quality_nightly/runs/scheduled__2026-11-21T02:00:00+00:00",
                     headers=auth)
    assert run.status_code == 307
    page = client.get(run.headers["location"], headers=auth)
    assert page.status_code == 200 and "accounting.profiles" in page.text and "FAILED" in page.text
    history = client.get(URL_PREFIX + "/dags/kol_quality_nightly/checks/accounting.profiles", headers=auth)
    assert history.status_code == 200 and "<svg" in history.text and history.text.count("<tr class=") == 2
    assert client.get(URL_PREFIX + "/dags/kol_quality_nightly/checks/nope", headers=auth).status_code == 404
    assert client.get(URL_PREFIX + "/dags/kol_quality_nightly/runs/nope", headers=auth).status_code == 404


@pytest.mark.parametrize("path", [
    "/files/../secret.txt", "/files/..%2Fsecret.txt", "/files/%2E%2E/secret.txt", "/files/gx/../../secret.txt",
    "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/files/link/secret.txt", "/files/escape.txt", "/files/gx",
    "/files/gx%5C..%5C..%5Csecret.txt",
])
def test_no_path_outside_the_reports_dir_can_be_read(api, settings, path):
    client, auth = api
    os.symlink(settings.state_dir, settings.reports_dir / "link")
    os.symlink(settings.state_dir / "secret.txt", settings.reports_dir / "escape.txt")
    response = client.get(URL_PREFIX + path, headers=auth)
    assert response.status_code == 404, (path, response.status_code, response.text[:200])
    assert client.get(URL_PREFIX + "/files/gx/index.html", headers=auth).text == "<html>docs</html>"


def test_report_file_refuses_what_it_must(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "r.html").write_text("x")
    assert report_file(tmp_path, "a/r.html") == (tmp_path / "a" / "r.html").resolve()
    for bad in ("", "/a/r.html", "a/../a/r.html", "a", "a\\r.html", "missing.html", "a/r.html\x00"):
        assert report_file(tmp_path, bad) is None, bad


def test_check_history_is_oldest_first_with_numeric_values(reports):
    from lakehouse.orchestration.quality_ui import run_reports

    points = check_history(run_reports(reports)["kol_quality_nightly"], "accounting.profiles")
    assert [p["value"] for p in points] == [100, 90] and [p["status"] for p in points] == ["PASS", "FAIL"]
    assert json.loads(json.dumps(points)) == points  # plain data: it survives JSON as it is
