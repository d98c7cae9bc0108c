"""The publish step of the Write-Audit-Publish chain, run in the Airflow task's process (refs only, no Spark)."""

from __future__ import annotations

from lakehouse.core.names import run_branch
from lakehouse.jobs.transform import publish_branch as publish
from lakehouse.orchestration.errors import fail_fast_on_breach


def publish_branch(*, run_id: str) -> dict:
    """Fast-forward ``main`` to the run's audited branch; a conflict (another run published) fails at once."""
    with fail_fast_on_breach():
        return publish(run_branch(run_id))
