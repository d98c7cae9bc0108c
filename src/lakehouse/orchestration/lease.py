"""The WAP lease: one Write-Audit-Publish chain at a time, across every DAG that runs one.

``kol_transform`` and ``kol_platform_e2e`` each build Silver and Gold on their
own branch and publish by fast-forwarding ``main``. Two chains at once would
make the later publisher conflict (safe, see :func:`lakehouse.etl.wap.publishable`,
but the run fails). The lease serializes them: a setup task takes it before the
first write, a teardown task gives it back after the Redis publish — whether
the chain succeeded or not (Airflow's setup/teardown). It is a redis-py token
lock whose token is the run id, with a time-to-live of the DAG run timeout, so
a run that died cannot hold it for longer than it could have run.
"""

from __future__ import annotations

from lakehouse.config import Settings, get_settings
from lakehouse.serving.redis_publish import redis_client

WAP_LEASE = "lakehouse:wap:lease"


def _lock(settings: Settings, *, wait_s: float | None = None):
    return redis_client(settings).lock(WAP_LEASE, timeout=settings.dagrun_timeout_hours * 3600,
                                       blocking_timeout=wait_s, thread_local=False)


def acquire_wap_lease(run_id: str, *, wait_s: float = 1800.0, settings: Settings | None = None) -> dict:
    """Take the lease for ``run_id`` (a retry of the same run finds it already its own), waiting up to ``wait_s``."""
    settings = settings or get_settings()
    lock = _lock(settings, wait_s=wait_s)
    holder = lock.redis.get(WAP_LEASE)
    if holder is not None and holder.decode() == run_id:  # a retried setup task of this run
        lock.local.token = holder
        lock.reacquire()
        return {"holder": run_id, "waited": False}
    if not lock.acquire(token=run_id):
        other = lock.redis.get(WAP_LEASE)
        raise TimeoutError(f"WAP lease held by run {other.decode() if other else '?'} for over {wait_s:.0f}s; "
                           f"a retry waits again")
    return {"holder": run_id, "waited": holder is not None}


def release_wap_lease(run_id: str, *, settings: Settings | None = None) -> dict:
    """Give the lease back if ``run_id`` still holds it (it may have expired and been taken since)."""
    from redis.exceptions import LockNotOwnedError

    lock = _lock(settings or get_settings())
    lock.local.token = run_id.encode()
    try:
        lock.release()
    except LockNotOwnedError:
        return {"released": False, "holder": (lock.redis.get(WAP_LEASE) or b"").decode()}
    return {"released": True}
