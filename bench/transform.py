"""What a user waits for: ``kol_transform``'s Spark tasks, submitted as Airflow submits them, for a small increment.

For each lake size (10,000 and 1,000,000 profiles by default; ``BENCH_TRANSFORM_LAKES``), Bronze is filled
from datagen and built to Silver and Gold in-process; then 1,000 new profiles with their videos and comments
are appended to Bronze and the WAP chain runs: its three Spark jobs one after the other with ``spark-submit``
and the same conf, jars and environment as ``LakehouseSparkSubmitOperator``
(:func:`lakehouse.spark.launch.submission`), then the publish task's ref commits (no Spark).
Per task: wall seconds, the start-up timeline (JVM -> Python driver -> SparkContext), the job's phases
with the Spark jobs each launched, and what it wrote.

Goals: the 10k-lake increment <= 30 s over its Spark tasks; the 1M-lake increment <= 2 x the 10k one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import median
from bench.etl import load_bronze
from lakehouse.config import Settings
from lakehouse.core.names import WAP_JOBS, run_branch
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.jobs.sizing import sized_submission
from lakehouse.spark.launch import submission

GOAL_10K_SECONDS = 30.0
GOAL_SCALE_RATIO = 2.0
INCREMENT = 1_000
DAG_ID = "kol_transform"


def lake_spec(profiles: int) -> DatasetSpec:
    """The standing lake: one video and one comment per profile on average, 1 % bad records."""
    return DatasetSpec(profiles=profiles, videos_per_profile=1.0, comments_per_video=1.0, bad_fraction=0.01, seed=1)


def increment(profiles: int = INCREMENT):
    """``profiles`` new KOLs with their videos and comments (the demo's ratios), ids moved out of the lake's
    range (``_0`` -> ``_9`` everywhere), so the increment adds KOLs rather than replaying known ones."""
    dataset = generate(DatasetSpec(profiles=profiles, bad_fraction=0.01, seed=2))
    for records in dataset.records.values():
        for r in records:
            r.key, r.value = r.key.replace(b"_0", b"_9"), r.value.replace(b"_0", b"_9")
    return dataset


@contextlib.contextmanager
def built_lake(profiles: int):
    """A temp state dir whose Bronze, Silver and Gold ``main`` hold ``profiles`` KOLs (built in-process)."""
    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.jobs.transform import build_gold, build_silver
    from lakehouse.spark.session import get_session

    with tempfile.TemporaryDirectory(prefix="kol-bench-transform-") as tmp:
        settings = Settings.from_env().replace(state_dir=Path(tmp))
        os.environ.update(settings.to_env())
        init_catalog(settings)
        load_bronze(settings, generate(lake_spec(profiles)))
        spark = get_session("bench-transform-build", settings)
        try:
            build_silver(spark, run_id="base", branch=None)
            build_gold(spark, run_id="base", branch=None)
        finally:
            spark.stop()
        yield settings


def submitted(settings: Settings, job: str, args: list[str]) -> tuple[float, dict, dict]:
    """``(wall seconds, sizing, result)`` of one job through spark-submit as the operator runs it."""
    launch, sizing = sized_submission(settings, job)
    with tempfile.TemporaryDirectory(prefix="lakehouse-job-") as tmp:
        result_file = Path(tmp) / "result.json"
        started = time.perf_counter()
        done = subprocess.run(launch.command(settings.spark_master, [*args, "--result-file", str(result_file)]),
                              env={**os.environ, **launch.env}, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{job} failed ({done.returncode}): {done.stderr[-3000:]}")
        return wall, sizing, json.loads(result_file.read_text())


def submit(settings: Settings, job: str, run_id: str) -> dict:
    """One job of the WAP chain; its result with the wall seconds."""
    args = ["--dag-id", DAG_ID, "--run-id", run_id]
    if job == "bronze_to_silver":
        args += ["--params", json.dumps({"full_rebuild": False})]
    wall, sizing, result = submitted(settings, job, args)
    profile = result.pop("profile", {})
    phases = profile.get("phases", {})
    return {"seconds": round(wall, 2), "sizing": sizing, "startup": profile.get("startup", {}),
            "spark_jobs": phases.get("job", {}).get("spark_jobs"), "phases": phases, "result": _brief(result)}


def _brief(result: dict) -> dict:
    """What a task wrote, without the long per-check lists."""
    return {k: v for k, v in result.items() if k not in ("checks", "data_docs")}


def publish(run_id: str) -> dict:
    """The publish task as Airflow runs it: in the task's process, pyiceberg ref commits."""
    from lakehouse.jobs.transform import publish_branch

    started = time.perf_counter()
    result = publish_branch(run_branch(run_id))
    return {"seconds": round(time.perf_counter() - started, 2), "startup": {}, "spark_jobs": 0,
            "result": _brief(result)}


def transform_increment(settings: Settings, run_id: str) -> dict:
    """Append the increment to Bronze, then the WAP chain in order: three Spark jobs, then publish."""
    load_bronze(settings, increment())
    tasks = {job: submit(settings, job, run_id) for job in WAP_JOBS[:-1]}
    tasks[WAP_JOBS[-1]] = publish(run_id)
    return {"tasks": tasks, "spark_tasks_s": round(sum(t["seconds"] for t in tasks.values()), 2),
            "fixed_startup_s": round(sum(t["startup"].get("context_up", 0) for t in tasks.values()), 2)}


EMPTY_JOB = Path(__file__).with_name("empty_job.py")


def empty_task(settings: Settings, archive: bool) -> dict:
    """One spark-submit that does nothing but start, open the lake and run a tiny query: a task's floor."""
    from dataclasses import replace

    launch = submission(settings, "empty")
    if not archive:  # the same command without the driver's class-data archive
        options = " ".join(o for o in launch.conf["spark.driver.extraJavaOptions"].split()
                           if not o.startswith(("-XX:SharedArchiveFile", "-Xlog:cds")))
        launch = replace(launch, conf={**launch.conf, "spark.driver.extraJavaOptions": options})
    command = launch.command(settings.spark_master, [])
    command[-1] = str(EMPTY_JOB)
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **launch.env}, capture_output=True, text=True, check=True)
    marks = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("FLOOR "))[6:])
    return {"wall_s": round(time.perf_counter() - started, 2), **marks}


def floor(settings: Settings, repeats: int = 3) -> dict:
    """Median empty task with and without the class-data archive, interleaved."""
    runs = {"with_archive": [], "without_archive": []}
    for _ in range(repeats):
        runs["without_archive"].append(empty_task(settings, archive=False))
        runs["with_archive"].append(empty_task(settings, archive=True))
    return {name: {"wall_s": median([r["wall_s"] for r in rs]), "runs": rs} for name, rs in runs.items()}


def lake_sizes() -> list[int]:
    return [int(s) for s in os.environ.get("BENCH_TRANSFORM_LAKES", "10000,1000000").split(",") if s]


def run(repeats: int = 2) -> dict:
    """Per lake size: ``repeats`` increments in a row (the first pays cold caches, the median is reported)."""
    lakes, empty = {}, None
    for profiles in lake_sizes():
        with built_lake(profiles) as settings:
            empty = empty or floor(settings)
            runs = [transform_increment(settings, f"bench_{profiles}_{i}") for i in range(repeats)]
        lakes[str(profiles)] = {"spark_tasks_s": median([r["spark_tasks_s"] for r in runs]), "runs": runs}
    out = {"increment_profiles": INCREMENT, "lakes": lakes, "empty_task": empty, "goal_10k_s": GOAL_10K_SECONDS,
           "goal_scale_ratio": GOAL_SCALE_RATIO}
    small, big = lakes.get("10000"), lakes.get("1000000")
    if small:
        out["meets_10k_goal"] = small["spark_tasks_s"] <= GOAL_10K_SECONDS
    if small and big:
        out["ratio_1m_over_10k"] = round(big["spark_tasks_s"] / small["spark_tasks_s"], 3)
        out["meets_scale_goal"] = out["ratio_1m_over_10k"] <= GOAL_SCALE_RATIO
    return out
