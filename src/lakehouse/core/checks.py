"""Check results, the readiness score and the verdict: the one rule both the report and the gate apply."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from lakehouse.core.errors import QualityGateError

GATE_MIN_SCORE = 95.0
Observed = float | int | str | None  # what a check saw: a count, a ratio, a figure like "+27 ~2 -0"


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass
class CheckResult:
    check_id: str
    layer: str
    table: str
    status: Status
    observed: Observed = None
    threshold: str = ""
    details: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-able details for the report (a diff, a delta)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = str(self.status)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**{**data, "status": Status(data["status"])})

    def line(self) -> str:
        """One line naming the check, where, what was seen and what was wanted."""
        return (f"{self.status} {self.check_id} [{self.layer}/{self.table}] observed={self.observed} "
                f"threshold={self.threshold} {self.details}").rstrip()


def failed_ids(results: list[CheckResult]) -> list[str]:
    """The ids of the checks that FAILed (what a task returns for its log and XCom)."""
    return [r.check_id for r in results if r.status is Status.FAIL]


OFFENDING_ROWS = "offending rows: "  # then a JSON list of row keys, in a check's details


def offending_rows(details: str) -> list[dict[str, Any]]:
    """The rows a failed check named in its details (written after :data:`OFFENDING_ROWS`), else []."""
    import json

    start = (details or "").find(OFFENDING_ROWS)
    if start < 0:
        return []
    try:
        rows, _ = json.JSONDecoder().raw_decode(details, start + len(OFFENDING_ROWS))
    except ValueError:
        return []
    return [r if isinstance(r, dict) else {"value": r} for r in rows] if isinstance(rows, list) else []


# The comparisons a check may make; the caller passes values that support them (numbers, or ids for ==).
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {"==": operator.eq, ">=": operator.ge, "<=": operator.le}


def compare(check_id: str, layer: str, table: str, observed: Observed, expected: Observed, *, op: str = "==",
            details: str = "", on_fail: Status = Status.FAIL) -> CheckResult:
    """A check of ``observed <op> expected``; ``op`` is one of ==, >=, <=."""
    ok = COMPARISONS[op](observed, expected)
    return CheckResult(check_id, layer, table, Status.PASS if ok else on_fail, observed, f"{op} {expected}", details)


def readiness_score(results: list[CheckResult]) -> float:
    """PASS / (PASS + WARN + FAIL) in percent; SKIP is not counted. 0 when nothing counted: a run that
    judged nothing has shown nothing to be ready."""
    counted = [r for r in results if r.status != Status.SKIP]
    if not counted:
        return 0.0
    return round(100.0 * sum(r.status == Status.PASS for r in counted) / len(counted), 2)


NOTHING_JUDGED = CheckResult("gate.nothing_judged", "orchestration", "-", Status.FAIL, 0, ">= 1",
                             "no check was judged (all skipped, or none ran): nothing shows the run is ready")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    score: float
    min_score: float
    not_passing: list[CheckResult]  # what a reader must look at: FAILs, and WARNs when they count


def verdict(results: list[CheckResult], *, min_score: float = GATE_MIN_SCORE,
            fail_on_warn: bool = False) -> Verdict:
    """A run passes with no FAIL, a score of at least ``min_score`` and, with ``fail_on_warn``, no WARN.

    WARNs are named when they decide the outcome (a low score, or ``fail_on_warn``). A run that judged
    nothing (no check, or only SKIPs) fails, whatever ``min_score``: a selection that matched no table
    must not read as a clean bill.
    """
    if not any(r.status != Status.SKIP for r in results):
        return Verdict(False, 0.0, min_score, [NOTHING_JUDGED])
    score = readiness_score(results)
    low = score < min_score
    warns_count = fail_on_warn or low
    not_passing = [r for r in results if r.status == Status.FAIL or (warns_count and r.status == Status.WARN)]
    failed = low or any(r.status == Status.FAIL for r in results) or (fail_on_warn and bool(not_passing))
    return Verdict(not failed, score, min_score, not_passing)


def gate(results: list[CheckResult], *, min_score: float = GATE_MIN_SCORE, fail_on_warn: bool = False) -> float:
    """The score, or :class:`QualityGateError` naming every check that breached the verdict."""
    v = verdict(results, min_score=min_score, fail_on_warn=fail_on_warn)
    if not v.passed:
        raise QualityGateError(
            f"quality gate breached: score {v.score}% (min {v.min_score}%), {len(v.not_passing)} check(s) "
            "not passing:\n" + "\n".join(r.line() for r in v.not_passing))
    return v.score
