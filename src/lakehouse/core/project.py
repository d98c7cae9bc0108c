"""Where the project is: the directory with the DAGs, Spark jobs, contracts and suites a deployment runs.

The library is a package; what a team edits (``dags/``, ``spark_jobs/``,
``contracts/``, ``expectations/``, ``plugins/``) lives in a project directory
beside it. Found, first match wins:

1. ``LAKEHOUSE_PROJECT_DIR``;
2. the working directory or the nearest directory above it that holds the project's folders;
3. the same, looking up from ``AIRFLOW_HOME`` (the embedded default's Airflow home is
   ``<project>/.state/airflow``; a deployment's Airflow home usually sits in or beside its project);
4. the source checkout an editable install runs from.

Found on each call, never at import: a process that changes directory or environment sees the change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROJECT_DIR_ENV = "LAKEHOUSE_PROJECT_DIR"
PROJECT_FOLDERS = ("dags", "spark_jobs", "contracts", "expectations")  # a directory with all four is a project


class ProjectNotFoundError(RuntimeError):
    """No project directory: nothing set ``LAKEHOUSE_PROJECT_DIR`` and no candidate holds the project folders."""


def is_project(path: Path) -> bool:
    return all((path / folder).is_dir() for folder in PROJECT_FOLDERS)


def _project_at_or_above(start: Path) -> Path | None:
    start = start.expanduser().resolve()
    return next((p for p in (start, *start.parents) if is_project(p)), None)


SOURCE_CHECKOUT = Path(__file__).resolve().parents[3]  # src/lakehouse/core/project.py -> an editable checkout


def find_project_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None,
                     checkout: Path | None = SOURCE_CHECKOUT) -> Path:
    """The project directory (see the module doc for the order); :class:`ProjectNotFoundError` says what
    was looked at when none is found."""
    env = os.environ if env is None else env
    if env.get(PROJECT_DIR_ENV):
        return Path(env[PROJECT_DIR_ENV]).expanduser().resolve()
    starts = [cwd or Path.cwd()]
    if env.get("AIRFLOW_HOME"):
        starts.append(Path(env["AIRFLOW_HOME"]))
    if checkout is not None:
        starts.append(checkout)
    for start in starts:
        found = _project_at_or_above(start)
        if found:
            return found
    raise ProjectNotFoundError(
        f"no project directory (with {', '.join(PROJECT_FOLDERS)}) at or above {', '.join(map(str, starts))}: "
        f"run from the project or set {PROJECT_DIR_ENV}")
