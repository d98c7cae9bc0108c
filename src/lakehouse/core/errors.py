"""Errors that mark a data breach: the data is wrong, not the infrastructure.

Retry-or-not is decided from this one marker: a :class:`DataBreach` fails an
Airflow task at once (no retries), anything else is retried by Airflow. The
in-process tasks and the spark-submit operator both ask :func:`is_data_breach`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # checks import errors: only the type is needed here
    from lakehouse.core.checks import CheckResult


class DataBreach(RuntimeError):
    """Retrying cannot help: a check failed, bookkeeping disagrees, a gate refused."""


class QualityGateError(DataBreach):
    """The run's checks breached the gate (any FAIL, a low score, or a WARN when asked)."""


class AuditError(DataBreach):
    """A WAP branch failed its audit; ``main`` was not changed and the branch is kept."""

    def __init__(self, branch: str, failed: list[CheckResult]) -> None:
        self.failed = failed
        lines = [f"audit of branch {branch!r} failed; main was not changed, the branch is kept for inspection:"]
        lines += [f"  FAIL {r.check_id} [{r.table}] observed={r.observed} threshold={r.threshold} {r.details}"
                  for r in failed]
        super().__init__("\n".join(lines))


class PublishConflictError(DataBreach):
    """``main`` moved since a run branched (another run published): publishing would lose that commit."""


class ReconciliationError(DataBreach):
    """Bronze disagrees with its own Kafka offset bookkeeping."""


class SourceChangedError(DataBreach):
    """The broker log behind a Bronze table is not the one its offsets were recorded against."""


class TrainingGateError(DataBreach):
    """A trained model failed a gate and was not promoted."""


class MissingUpstreamError(DataBreach):
    """A table a step reads from has never been written (run its upstream step first): retrying cannot
    create it."""


class InvalidParamsError(DataBreach):
    """A run's Params do not fit the job's schema: the same Params fail the same way on a retry."""


class UnknownSelectionError(DataBreach):
    """A run was narrowed to a table that neither exists nor has a suite (a typo): it would judge nothing."""


def is_data_breach(exc: BaseException) -> bool:
    return isinstance(exc, DataBreach)
