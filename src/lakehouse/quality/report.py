"""Readiness report of a run: layer counts, timings, checks and score, as JSON, HTML and a terminal summary."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.core.catalogue import first_look
from lakehouse.core.checks import CheckResult, Status, verdict
from lakehouse.core.scoring import FORMULA


def build_report(*, dag_id: str, run_id: str, counts: dict[str, Any], timings: dict[str, Any], checks: list[CheckResult],
                 extra: dict[str, Any] | None = None, fail_on_warn: bool = False) -> dict[str, Any]:
    """The report's data; its verdict is the gate's (:func:`lakehouse.core.checks.verdict`)."""
    v = verdict(checks, fail_on_warn=fail_on_warn)
    statuses = {s.value: sum(c.status == s for c in checks) for s in Status}
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "score": v.score,
        "gate": {"min_score": v.min_score, "passed": v.passed, "fail_on_warn": fail_on_warn},
        "statuses": statuses,
        "counts": counts,
        "timings_s": timings,
        "checks": [c.to_dict() for c in checks],
        **(extra or {}),
    }


LATEST = "latest"


def safe_name(name: str) -> str:
    """A DAG or run id as a file name: anything but letters, digits, ``_.-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def report_path(reports_dir: Path, dag_id: str, run_id: str) -> Path:
    """``<reports_dir>/<dag_id>/<run_id>.json`` (file-safe names); ``.html`` beside it."""
    return reports_dir / safe_name(dag_id) / f"{safe_name(run_id)}.json"


def write_report(report: dict[str, Any], reports_dir: Path) -> Path:
    """Write ``<reports_dir>/<dag_id>/<run_id>.json`` and ``.html``, and refresh ``latest.*`` beside them."""
    from lakehouse.quality.html_report import render_html

    path = report_path(reports_dir, report["dag_id"], report["run_id"])
    out_dir = path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str)
    html = render_html(report, path)
    for stem in (path.stem, LATEST):
        (out_dir / f"{stem}.json").write_text(text)
        (out_dir / f"{stem}.html").write_text(html)
    return path


GX_DIR = "gx"  # the GX file project the suite runner keeps under the reports dir
# per run, GX stores a validation result and renders its Data Docs page here (suites, config and the
# site's static files stay)
GX_RUN_DIRS = ("uncommitted/validations", "uncommitted/data_docs/local_site/validations")


def prune_reports(reports_dir: Path, older_than: float) -> int:
    """Delete run reports (``<dag>/<run>.json|html``) and the GX validation results and Data Docs pages of
    runs, last written before ``older_than`` (epoch seconds); returns the files removed.

    ``latest.*`` and the GX project itself (suites, configuration, the site's index and static files) stay.
    """
    removed = 0
    for latest in reports_dir.glob(f"*/{LATEST}.json"):  # a DAG's report dir
        for path in latest.parent.iterdir():
            if path.suffix in (".json", ".html") and path.stem != LATEST and path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
    for run_dir in (reports_dir / GX_DIR / d for d in GX_RUN_DIRS):
        for path in sorted(run_dir.rglob("*"), reverse=True) if run_dir.is_dir() else ():  # files before dirs
            if path.is_file() and path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return removed


def render_terminal(report: dict[str, Any]) -> str:
    lines = [f"KOL Lakehouse readiness report  {report['dag_id']}  {report['run_id']}", ""]
    counts = report["counts"]
    if counts.get("bronze"):
        lines.append(f"{'entity':<10}{'bronze':>10}{'silver':>10}{'dupes':>8}{'quarant.':>10}")
    for entity in counts.get("bronze", {}):
        lines.append(
            f"{entity:<10}{counts['bronze'][entity]:>10}{counts['silver'][entity]:>10}"
            f"{counts['duplicates'][entity]:>8}{counts['quarantine'][entity]:>10}"
        )
    if counts.get("gold"):
        lines.append(f"gold kol_summary rows: {counts['gold'].get('kol_summary', 0)}")
    if "redis" in counts:
        lines.append("redis: " + ", ".join(f"{p}={c.get('final', c.get('list', 0))} KOLs (list {c.get('list', 0)})"
                                           for p, c in counts["redis"].items()))
    lines += ["", "timings (s): " + ", ".join(f"{k}={v}" for k, v in report["timings_s"].items()), ""]
    for platform, top in (report.get("top_kols") or {}).items():
        lines.append(f"Top {len(top)} {platform} by final score   (final = {FORMULA})")
        lines.append(f"  {'#':>2} {'username':<18}{'followers':>11}{'trending':>10}{'success':>9}{'trust':>8}{'final':>8}")
        for i, r in enumerate(top, 1):
            trust = "-" if r.get("trust_score") in (None, "") else f"{r['trust_score']:.1f}"
            lines.append(f"  {i:>2} {str(r['username'])[:17]:<18}{r['followers_count']:>11}"
                         f"{r['trending_score']:>10.1f}{r['success_score']:>9.1f}{trust:>8}{r['final_score']:>8.2f}")
        lines.append("")
    for check in report["checks"]:
        if check["status"] in ("FAIL", "WARN"):
            lines.append(f"  {check['status']:<5} {check['check_id']}: observed {check['observed']} "
                         f"threshold {check['threshold']} {check['details']}")
            if hint := first_look(check["check_id"]):
                lines.append(f"        look at: {hint}")
    skipped = [c["check_id"] for c in report["checks"] if c["status"] == "SKIP"]
    if skipped:
        lines.append(f"  SKIP  {len(skipped)} not judged yet (details in the report): {', '.join(skipped)}")
    s = report["statuses"]
    verdict = "PASSED" if report["gate"]["passed"] else "FAILED"
    lines.append(
        f"checks: {s['PASS']} PASS, {s['WARN']} WARN, {s['FAIL']} FAIL, {s['SKIP']} SKIP  "
        f"score {report['score']}% (gate >= {report['gate']['min_score']}%): {verdict}"
    )
    return "\n".join(lines)
