"""The first job of ``kol_quarantine_replay``: quarantined records replayed into Silver on the run's WAP branch
(:mod:`lakehouse.etl.replay`); Gold, the audit and the publish are ``kol_transform``'s own jobs."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.names import QUARANTINE_TABLE
from lakehouse.etl.replay import Selection, replay_quarantine
from lakehouse.quality.store import record

SOURCE = "replay_quarantine"

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def selection_of(params: dict[str, Any]) -> Selection:  # Any: the validated Params (JSON)
    return Selection(tuple(params["reasons"]), params.get("since") or None, params.get("until") or None)


def replay(spark: SparkSession, *, dag_id: str = "", run_id: str = "", branch: str | None = None,
           params: dict[str, Any] | None = None, **_: object) -> dict[str, Any]:  # Any: Params and JSON result
    """Replay the selected quarantined records of every entity; with ``dry_run``, only count per reason."""
    params = params or {}
    dry_run = params.get("dry_run") is True
    stats = replay_quarantine(spark, selection_of(params), dag_id=dag_id, run_id=run_id, branch=branch,
                              dry_run=dry_run)
    by_reason: dict[str, dict[str, int]] = {}
    for s in stats:
        for reason, counts in s.by_reason.items():
            mine = by_reason.setdefault(reason, {"selected": 0, "would_move": 0})
            for key, value in counts.items():
                mine[key] += value
    rows = [reason_row(reason, counts, dry_run) for reason, counts in sorted(by_reason.items())]
    for row in rows:
        print(row.details)
    if dag_id:  # the run's report and Data quality view show one line per reason
        record(get_settings(), dag_id=dag_id, run_id=run_id, source=SOURCE, results=rows)
    return {"entities": [asdict(s) for s in stats], "by_reason": by_reason, "dry_run": dry_run, "branch": branch,
            "moved": sum(s.moved for s in stats) if not dry_run else 0}


def reason_row(reason: str, counts: dict[str, int], dry_run: bool) -> CheckResult:
    """``replay.<reason>``: how many of the selected records left the quarantine (information, never a breach:
    the audit judges what they became)."""
    verb = "would move" if dry_run else "moved"
    return CheckResult(f"replay.{reason}", "silver", QUARANTINE_TABLE, Status.PASS,
                       f"{counts['would_move']}/{counts['selected']}", "information",
                       f"{verb} {counts['would_move']} of {counts['selected']} records quarantined for {reason}")
