"""Check results and the gate that turns them into a pass or a failed run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


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
    observed: float | int | str | None = None
    threshold: str = ""
    details: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["status"] = str(self.status)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        return cls(**{**data, "status": Status(data["status"])})


def compare(check_id: str, layer: str, table: str, observed, expected, *, op: str = "==",
            details: str = "", on_fail: Status = Status.FAIL) -> CheckResult:
    """A check of ``observed <op> expected``; ``op`` is one of ==, >=, <=."""
    ok = {"==": observed == expected, ">=": observed >= expected, "<=": observed <= expected}[op]
    return CheckResult(check_id, layer, table, Status.PASS if ok else on_fail, observed, f"{op} {expected}", details)


def readiness_score(results: list[CheckResult]) -> float:
    """PASS / (PASS + WARN + FAIL) in percent; SKIP is not counted. 100 when nothing counted."""
    counted = [r for r in results if r.status != Status.SKIP]
    if not counted:
        return 100.0
    return round(100.0 * sum(r.status == Status.PASS for r in counted) / len(counted), 2)


class DataBreach(RuntimeError):
    """The data is wrong, not the infrastructure: retrying cannot help, so the task fails at once.

    Airflow tasks turn it into AirflowFailException (``lakehouse.pipeline.fail_fast_on_breach``),
    and a spark-submit job reports it to its operator as not retryable.
    """

    data_breach = True


class QualityGateError(DataBreach):
    pass


def gate(results: list[CheckResult], *, min_score: float = 95.0, fail_on_warn: bool = False) -> float:
    """Raise naming every breached check if any FAIL (or WARN when asked) or the score is low."""
    score = readiness_score(results)
    low = score < min_score
    bad = [r for r in results if r.status == Status.FAIL or ((fail_on_warn or low) and r.status == Status.WARN)]
    if low or any(r.status == Status.FAIL or fail_on_warn for r in bad):
        lines = [f"{r.status} {r.check_id} [{r.layer}/{r.table}] observed={r.observed} "
                 f"threshold={r.threshold} {r.details}".rstrip() for r in bad]
        raise QualityGateError(
            f"quality gate breached: score {score}% (min {min_score}%), {len(bad)} check(s) not passing:\n"
            + "\n".join(lines)
        )
    return score
