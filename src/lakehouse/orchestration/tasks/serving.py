"""``publish_redis`` (``kol_transform`` and ``kol_platform_e2e``): Gold ``main`` to the Redis hot path, then its checks.

The checks (entries = Gold rows, content) are recorded for the run's gate; a
FAIL does not fail this task, so the report is still written before the gate
fails the run.
"""

from __future__ import annotations

from lakehouse.config import Settings, get_settings
from lakehouse.core.checks import Status
from lakehouse.quality.serving import hot_path_checks
from lakehouse.quality.store import record
from lakehouse.serving.redis_publish import publish_gold

SOURCE = "publish_redis"


def publish_redis(*, dag_id: str, run_id: str, settings: Settings | None = None) -> dict:
    settings = settings or get_settings()
    result = publish_gold(settings)
    checks = hot_path_checks(settings)
    record(settings, dag_id=dag_id, run_id=run_id, source=SOURCE, results=checks)
    print(f"redis: Gold snapshot {result['gold_snapshot_id']} published as version {result['version']} "
          f"{result['published']} in {result['seconds']}s; {len(checks)} checks recorded")
    return {**result, "failed": [c.check_id for c in checks if c.status == Status.FAIL]}
