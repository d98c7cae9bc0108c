"""Retry or not, decided in one place for in-process tasks.

A :class:`~lakehouse.core.errors.DataBreach` becomes ``AirflowFailException``
(no retries: the data will not change by retrying); anything else is left to
Airflow's retries. Spark jobs report the same decision through their result
file, which :class:`~lakehouse.orchestration.operators.LakehouseSparkSubmitOperator` reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lakehouse.core.errors import is_data_breach


@contextlib.contextmanager
def fail_fast_on_breach() -> Iterator[None]:
    """A data breach raised inside fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except Exception as exc:  # re-raised: only the kind of error is decided here
        if is_data_breach(exc):
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        raise


def no_retry(message: str) -> Exception:
    """The exception that fails a task at once (for a Spark job that reported a data breach)."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)
