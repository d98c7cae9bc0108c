"""The readiness report as one self-contained HTML page: no scripts, no external assets.

Checks grouped by layer with status colours, observed vs threshold, links to
the GX Data Docs page of each validated table, and a small SVG chart of each
table's row count over the last runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from lakehouse.core.catalogue import first_look
from lakehouse.core.checks import offending_rows

LAYER_ORDER = ("orchestration", "bronze", "silver", "gold", "serving", "ml")
COLOURS = {"PASS": "#1a7f37", "WARN": "#9a6700", "FAIL": "#cf222e", "SKIP": "#6e7781"}
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:600}
table{border-collapse:collapse;width:100%;margin-bottom:8px} th,td{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top} th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:700;color:#fff;border-radius:3px;padding:1px 6px} .details{color:#57606a;font-size:12px;
word-break:break-word} .trend{display:inline-block;margin:0 16px 12px 0} .muted{color:#57606a}
.hint{color:#24292f;margin-top:4px}
#checks{table-layout:fixed} #checks td{word-break:break-word} #checks th.c1{width:56px} #checks th.c2{width:26%}
#checks th.c3{width:14%} #checks th.c4{width:10%} #checks th.c5{width:14%}
"""


def _cell(value: object) -> str:
    return escape("" if value is None else str(value))


def _number(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else _cell(value)


def sparkline(points: list[dict[str, Any]], key: str = "rows", width: int = 220, height: int = 48) -> str:
    """A small SVG line of ``point[key]`` over ``points`` (each with a ``run_id`` for the hover title)."""
    rows = [p[key] for p in points]
    if len(rows) < 2:
        return "<div class=muted>the trend starts with the next run</div>"
    lo, hi = min(rows), max(rows)
    span = (hi - lo) or 1
    step = width / max(len(rows) - 1, 1)
    xy = [(round(i * step, 1), round(height - 4 - (r - lo) / span * (height - 8), 1)) for i, r in enumerate(rows)]
    path = " ".join(f"{x},{y}" for x, y in xy)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.5"><title>{escape(p["run_id"])}: {p[key]} {key}</title>'
                   f"</circle>" for (x, y), p in zip(xy, points, strict=True))
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{path}"/>'
            f'<g fill="#0969da">{dots}</g></svg>')


def render_html(report: dict[str, Any], out_path: Path | None = None) -> str:
    """The page for ``report`` (see :func:`lakehouse.quality.report.build_report`).

    ``out_path``: where the page will live, so links to Data Docs are relative
    and the reports dir can be moved or served as a whole.
    """
    parts = [*_header(report), *_counts(report.get("counts") or {}), *_top_kols(report.get("top_kols") or {}),
             *_trend(report.get("trend") or {})]
    offending = _offending(report["checks"])
    parts += [*_checks(report["checks"], _docs_links(report, out_path), offending), *_offending_section(offending)]
    if report.get("timings_s"):
        parts.append("<h2>Timings (s)</h2><p>" + ", ".join(
            f"{escape(k)} {v}" for k, v in report["timings_s"].items()) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _docs_links(report: dict[str, Any], out_path: Path | None) -> Callable[[str], str]:
    """``link(table)``: HTML links to the table's Data Docs page and, when its rules failed, to the page of
    their offending rows (``<table>.offending``), relative to the report ('' for none)."""
    docs = report.get("data_docs") or {}

    def link(table: str) -> str:
        pages = (("Data Docs", docs.get(table)), ("offending rows", docs.get(f"{table}.offending")))
        return "".join(f' <a href="{escape(os.path.relpath(target, out_path.parent) if out_path else target)}">'
                       f"{label}</a>" for label, target in pages if target)

    return link


def _header(report: dict[str, Any]) -> list[str]:
    s = report["statuses"]
    passed = report["gate"]["passed"]
    return [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Readiness {escape(report['dag_id'])} {escape(report['run_id'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>KOL Lakehouse readiness report</h1><p class=muted>{escape(report['dag_id'])} · "
        f"{escape(report['run_id'])} · generated {escape(report['generated_at'])}</p>",
        f'<p><span class="verdict" style="background:{COLOURS["PASS" if passed else "FAIL"]}">'
        f'{"PASSED" if passed else "FAILED"}</span> score <b>{report["score"]}%</b> '
        f'(gate ≥ {report["gate"]["min_score"]}%, no FAIL) · '
        + " · ".join(f'<span style="color:{COLOURS[k]}">{v} {k}</span>' for k, v in s.items()) + "</p>",
    ]


def _counts(counts: dict[str, Any]) -> list[str]:
    if not counts.get("bronze"):
        return []
    parts = ["<h2>Records per layer</h2><table id=counts><tr><th>entity</th><th>bronze</th><th>silver</th>"
             "<th>duplicates</th><th>quarantined</th></tr>"]
    for entity in counts["bronze"]:
        parts.append(f"<tr><td>{escape(entity)}</td>" + "".join(
            f'<td class=num>{counts[k].get(entity, 0)}</td>'
            for k in ("bronze", "silver", "duplicates", "quarantine")) + "</tr>")
    parts.append(f"</table><p>gold.kol_summary: <b>{counts.get('gold', {}).get('kol_summary', 0)}</b> rows</p>")
    return parts


def _top_kols(top_kols: dict[str, Any]) -> list[str]:
    parts = []
    for platform, top in top_kols.items():
        parts.append(f"<h2>Top {len(top)} {escape(platform)} KOLs</h2><table class=top><tr><th>#</th><th>username</th>"
                     "<th>followers</th><th>trending</th><th>success</th><th>trust</th><th>final</th></tr>")
        for i, r in enumerate(top, 1):
            parts.append(f"<tr><td class=num>{i}</td><td>{_cell(r.get('username'))}</td>" + "".join(
                f"<td class=num>{_number(r.get(k))}</td>" for k in ("followers_count", "trending_score",
                                                                   "success_score", "trust_score", "final_score"))
                + "</tr>")
        parts.append("</table>")
    return parts


def _trend(trend: dict[str, Any]) -> list[str]:
    if not trend:
        return []
    parts = ["<h2>Row counts over the last runs</h2><div id=trend>"]
    for table, points in sorted(trend.items()):
        parts.append(f'<div class=trend><div>{escape(table)} <span class=muted>{points[-1]["rows"]} rows, '
                     f'{len(points)} run(s)</span></div>{sparkline(points)}</div>')
    parts.append("</div>")
    return parts


def _offending(checks: list[dict[str, Any]]) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """``{check id: (anchor, rows)}`` for every FAIL/WARN that named its offending rows."""
    out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for c in checks:
        rows = offending_rows(c.get("details") or "") if c["status"] in ("FAIL", "WARN") else []
        if rows:
            out[c["check_id"]] = (f"rows-{len(out) + 1}", rows)
    return out


def _offending_section(offending: dict[str, tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """Each not-passing check's rows as a table: business key and, for Silver, the Kafka record."""
    if not offending:
        return []
    parts = ["<h2>Offending rows</h2>"]
    for check_id, (anchor, rows) in offending.items():
        columns = list(dict.fromkeys(k for r in rows for k in r))
        parts.append(f'<h3 id="{anchor}">{_cell(check_id)}</h3><table class=rows><tr>'
                     + "".join(f"<th>{_cell(c)}</th>" for c in columns) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows]
        parts.append("</table>")
    return parts


def _checks(checks: list[dict[str, Any]], link: Callable[[str], str],
            offending: dict[str, tuple[str, list[dict[str, Any]]]] | None = None) -> list[str]:
    layers = sorted({c["layer"] for c in checks}, key=lambda x: (LAYER_ORDER.index(x) if x in LAYER_ORDER else 99, x))
    parts = ["<h2>Checks</h2><table id=checks><tr><th class=c1>status</th><th class=c2>check</th>"
             "<th class=c3>table</th><th class=c4>observed</th><th class=c5>threshold</th><th>details</th></tr>"]
    for layer in layers:
        rows = [c for c in checks if c["layer"] == layer]
        bad = sum(c["status"] in ("FAIL", "WARN") for c in rows)
        parts.append(f'<tr class=layer><th colspan=6 id="layer-{escape(layer)}">{escape(layer)} '
                     f'<span class=muted>({len(rows)} checks{f", {bad} not passing" if bad else ""})</span></th></tr>')
        for c in sorted(rows, key=lambda c: ("FAIL", "WARN", "SKIP", "PASS").index(c["status"])):
            parts.append(
                f'<tr class="check {c["status"].lower()}"><td><span class=status style="background:'
                f'{COLOURS[c["status"]]}">{c["status"]}</span></td><td>{_cell(c["check_id"])}</td>'
                f'<td>{_cell(c["table"])}{link(c["table"])}</td><td class=num>{_cell(c["observed"])}</td>'
                f'<td>{_cell(c["threshold"])}</td><td class=details>{_cell(c["details"])}'
                f'{_rows_link((offending or {}).get(c["check_id"]))}{_hint(c)}</td></tr>')
    parts.append("</table>")
    return parts


def _hint(check: dict[str, Any]) -> str:
    """The check catalogue's first thing to look at, under a check that did not pass."""
    hint = first_look(check["check_id"]) if check["status"] in ("FAIL", "WARN") else ""
    code = re.sub(r"`([^`]+)`", r"<code>\1</code>", _cell(hint))  # the catalogue writes code as `…`
    return f"<div class=hint>Look at: {code}</div>" if hint else ""


def _rows_link(entry: tuple[str, list[dict[str, Any]]] | None) -> str:
    return f' <a href="#{entry[0]}">{len(entry[1])} offending row(s)</a>' if entry else ""
