"""The "Data quality" pages inside the Airflow UI: reports, runs and check history from the reports dir.

Mounted by ``plugins/data_quality.py`` under :data:`URL_PREFIX`. Airflow does
not authenticate plugin routes by itself, so the app depends on Airflow's own
authentication (the UI's JWT cookie or a bearer token, checked by the auth
manager): an anonymous request gets 401. Only regular files inside the
reports dir are served; ``..``, absolute paths, encoded slashes and symlinks
get 404.

Kept light: it reads the JSON reports the runs wrote, so loading the plugin
imports no Spark, Arrow or pyiceberg.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from lakehouse.config import get_settings
from lakehouse.quality.html_report import COLOURS, CSS, sparkline
from lakehouse.quality.report import GX_DIR, LATEST, report_path

if TYPE_CHECKING:
    from fastapi import FastAPI

URL_PREFIX = "/data-quality"


def report_file(reports_dir: Path, relative: str) -> Path | None:
    """The regular file ``relative`` names inside ``reports_dir``, or None for anything else.

    Refused: empty, absolute or backslashed paths, any ``..`` step, any symlink on the way,
    anything that resolves outside the reports dir, directories and missing files.
    """
    if not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative:
        return None
    parts = Path(relative).parts
    if ".." in parts:
        return None
    root = reports_dir.resolve()
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def run_reports(reports_dir: Path, dag_id: str | None = None) -> dict[str, list[dict]]:
    """``{dag_id: [report, ...]}`` newest first, one per run (``latest.json`` is a copy, skipped)."""
    out: dict[str, list[dict]] = {}
    if not reports_dir.is_dir():
        return out
    for dag_dir in sorted(p for p in reports_dir.iterdir() if p.is_dir() and p.name != GX_DIR):
        reports = []
        for path in dag_dir.glob("*.json"):
            if path.stem == LATEST or path.is_symlink():
                continue
            try:
                reports.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
        if reports and (dag_id is None or reports[0].get("dag_id") == dag_id):
            out[reports[0]["dag_id"]] = sorted(reports, key=lambda r: r.get("generated_at", ""), reverse=True)
    return out


def _page(title: str, body: list[str]) -> str:
    return "\n".join(["<!doctype html><html lang=en><head><meta charset=utf-8>", f"<title>{escape(title)}</title>",
                      f"<style>{CSS}</style></head><body>", f"<h1>{escape(title)}</h1>", *body, "</body></html>"])


def _verdict(report: dict) -> str:
    passed = report.get("gate", {}).get("passed")
    colour = COLOURS["PASS" if passed else "FAIL"]
    return f'<span class=verdict style="background:{colour}">{"PASSED" if passed else "FAILED"}</span>'


def run_url(dag_id: str, run_id: str) -> str:
    return f"{URL_PREFIX}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def index_page(reports_dir: Path) -> str:
    """Every DAG's latest report and its runs with verdict and score."""
    body = []
    for dag_id, reports in run_reports(reports_dir).items():
        body.append(f"<h2>{escape(dag_id)}</h2><table class=runs><tr><th>run</th><th>verdict</th><th>score</th>"
                    "<th>generated</th><th>FAIL / WARN</th></tr>")
        for r in reports:
            s = r.get("statuses", {})
            body.append(f'<tr><td><a href="{escape(run_url(dag_id, r["run_id"]))}">{escape(r["run_id"])}</a></td>'
                        f'<td>{_verdict(r)}</td><td class=num>{r.get("score")}%</td>'
                        f'<td>{escape(str(r.get("generated_at", "")))}</td>'
                        f'<td class=num>{s.get("FAIL", 0)} / {s.get("WARN", 0)}</td></tr>')
        body.append("</table>")
    if not body:
        body.append("<p class=muted>No readiness report yet: run a DAG that checks (e.g. kol_platform_e2e).</p>")
    return _page("Data quality", body)


def check_history(reports: list[dict], check_id: str) -> list[dict]:
    """``[{run_id, generated_at, status, observed, threshold, value}]`` oldest first (``value``: numeric observed)."""
    points = []
    for report in sorted(reports, key=lambda r: r.get("generated_at", "")):
        for check in report.get("checks", []):
            if check.get("check_id") == check_id:
                observed = check.get("observed")
                numeric = isinstance(observed, int | float) and not isinstance(observed, bool)
                points.append({"run_id": report["run_id"], "generated_at": report.get("generated_at"),
                               "status": check.get("status"), "observed": observed,
                               "threshold": check.get("threshold"), "value": observed if numeric else None})
    return points


def check_page(reports_dir: Path, dag_id: str, check_id: str) -> str | None:
    """A check's history over the DAG's runs (status, observed vs threshold, a chart); None if unknown."""
    points = check_history(run_reports(reports_dir, dag_id).get(dag_id, []), check_id)
    if not points:
        return None
    numeric = [p for p in points if p["value"] is not None]
    body = [f"<p class=muted>{escape(dag_id)} · {len(points)} run(s)</p>",
            sparkline(numeric, key="value") if numeric else "<p class=muted>observed values are not numeric</p>",
            "<table id=history><tr><th>run</th><th>status</th><th>observed</th><th>threshold</th></tr>"]
    for p in reversed(points):
        body.append(f'<tr class="check {escape(str(p["status"]).lower())}"><td>{escape(p["run_id"])}</td>'
                    f'<td><span class=status style="background:{COLOURS.get(p["status"], "#6e7781")}">'
                    f'{escape(str(p["status"]))}</span></td><td class=num>{escape(str(p["observed"]))}</td>'
                    f'<td>{escape(str(p["threshold"]))}</td></tr>')
    body.append("</table>")
    return _page(f"Check {check_id}", body)


def create_app() -> FastAPI:
    """The FastAPI app the plugin mounts; every route requires an authenticated Airflow user."""
    from airflow.api_fastapi.core_api.security import requires_authenticated
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

    app = FastAPI(title="KOL Lakehouse data quality", dependencies=[Depends(requires_authenticated())])

    def reports_dir() -> Path:
        return get_settings().reports_dir

    @app.get("/", response_class=HTMLResponse)
    def index():  # FastAPI reads a route's annotations at runtime: its response types are local imports
        return index_page(reports_dir())

    @app.get("/dags/{dag_id}/runs/{run_id}")
    def run_report(dag_id: str, run_id: str):
        root = reports_dir()
        relative = str(report_path(root, dag_id, run_id).with_suffix(".html").relative_to(root))
        if report_file(root, relative) is None:
            raise HTTPException(status_code=404, detail="no report for this run")
        return RedirectResponse(f"{URL_PREFIX}/files/{quote(relative)}")

    @app.get("/dags/{dag_id}/checks/{check_id}", response_class=HTMLResponse)
    def check(dag_id: str, check_id: str):
        page = check_page(reports_dir(), dag_id, check_id)
        if page is None:
            raise HTTPException(status_code=404, detail="no such check in this DAG's reports")
        return page

    @app.get("/files/{relative:path}")
    def files(relative: str):
        path = report_file(reports_dir(), relative)
        if path is None:
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(path)

    return app
