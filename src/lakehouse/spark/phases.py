"""Where a Spark job's time goes: named phases, each with its seconds and the Spark jobs it launched.

A job process records into one module-level :class:`Profile`; ``spark.submit``
returns it with the job's result, so every task's XCom (and ``make bench
transform``) shows the breakdown. Phases nest by name (``silver.merge`` inside
``silver``); recording costs one status-tracker call per phase edge (a few ms).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


def _spark_job_count() -> int:
    """Spark jobs this process's SparkContext has started so far (0 without one; pyspark is not imported
    for it). Job ids count up from 0; the tracker retains only the newest ``spark.ui.retainedJobs``, so the
    newest id, not the number retained, says how many ran.

    The newest id is taken in the JVM: pyspark's ``StatusTracker`` copies the id array to Python one py4j
    call per element, ~100 ms per phase edge once a long session retains 800 jobs (2.4 ms this way)."""
    pyspark = sys.modules.get("pyspark")
    sc = pyspark.SparkContext._active_spark_context if pyspark is not None else None
    if sc is None:
        return 0
    ids = sc._jsc.statusTracker().getJobIdsForGroup(None)  # the platform sets no job groups
    return int(sc._jvm.java.util.Arrays.stream(ids).max().orElse(-1)) + 1


PHASE_MARKER = "lakehouse phase: "  # what a submitted job prints as a phase starts


@dataclass
class Profile:
    """Seconds and Spark jobs per phase name, summed over repeats (four entities each run ``silver.merge``)."""

    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    announce: bool = False  # a submitted job: each phase's start on stderr (the task log shows where it is)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.announce:
            print(f"{PHASE_MARKER}{name}", file=sys.stderr, flush=True)
        started, jobs = time.perf_counter(), _spark_job_count()
        try:
            yield
        finally:
            entry = self.phases.setdefault(name, {"seconds": 0.0, "spark_jobs": 0, "calls": 0})
            entry["seconds"] = round(entry["seconds"] + time.perf_counter() - started, 3)
            entry["spark_jobs"] += _spark_job_count() - jobs
            entry["calls"] += 1

    def to_dict(self) -> dict[str, dict[str, float]]:
        return dict(self.phases)


PROFILE = Profile()


def phase(name: str) -> contextlib.AbstractContextManager[None]:
    """``with phase("silver.merge"):`` — record the block's time and Spark jobs in this process's profile."""
    return PROFILE.phase(name)
