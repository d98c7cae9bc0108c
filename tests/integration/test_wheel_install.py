"""The package installed as a wheel (not editable), outside the checkout, runs against a project directory:
the command line, the suite linter and a DAG parse find the DAGs, suites and contracts through the project
setting (``LAKEHOUSE_PROJECT_DIR``, or the working directory), not through the package's own location."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lakehouse.core.project import PROJECT_DIR_ENV, find_project_dir

pytestmark = pytest.mark.integration

PROJECT = find_project_dir()
PIP = Path(sys.executable).parent / "pip"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; its other packages are this venv's (a path entry, whose
    editable-install hook is not run), so the only ``lakehouse`` it can import is the wheel's."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    shutil.copytree(PROJECT / "src" / "lakehouse", source / "src" / "lakehouse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    build = _run([str(PIP), "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), "."],
                 source, dict(os.environ))
    assert build.returncode == 0, build.stderr
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp, dict(os.environ)).stdout.strip())
    (site / "lakehouse-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    [wheel] = (tmp / "dist").glob("*.whl")
    install = _run([str(PIP), "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], tmp, dict(os.environ))
    assert install.returncode == 0, install.stderr
    return venv


def _env(venv: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LAKEHOUSE_", "AIRFLOW", "PYTHONPATH", "VIRTUAL_ENV"))}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", **extra}


def test_the_wheel_runs_the_cli_the_suite_linter_and_a_dag_parse_against_the_project(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(installed / "bin" / "python"), "-c", "import lakehouse; print(lakehouse.__file__)"],
                 elsewhere, _env(installed))
    assert where.stdout.startswith(str(installed)), where  # the wheel's copy, not the checkout's

    assert _run([str(installed / "bin" / "lakehouse"), "--help"], elsewhere, _env(installed)).returncode == 0
    lint = _run([str(installed / "bin" / "lakehouse"), "suites", "lint"], PROJECT / "expectations",
                _env(installed))  # the project found from the working directory
    assert lint.returncode == 0 and "suite" in lint.stdout, lint
    lost = _run([str(installed / "bin" / "lakehouse"), "suites", "lint"], elsewhere, _env(installed))
    assert lost.returncode == 2 and PROJECT_DIR_ENV in lost.stderr and "Traceback" not in lost.stderr, lost

    parse = _run([str(installed / "bin" / "python"), "-c",
                  "import json; from airflow.models.dagbag import DagBag; from lakehouse.config import get_settings;"
                  "bag = DagBag(dag_folder=str(get_settings().dags_dir));"
                  "print(json.dumps({'dags': sorted(bag.dag_ids), 'errors': list(bag.import_errors)}))"],
                 elsewhere, _env(installed, **{PROJECT_DIR_ENV: str(PROJECT), "AIRFLOW_HOME": str(tmp_path / "af")}))
    assert parse.returncode == 0, parse.stderr[-3000:]
    bag = json.loads(parse.stdout.strip().splitlines()[-1])
    assert bag["errors"] == [] and bag["dags"] == sorted(p.stem for p in (PROJECT / "dags").glob("kol_*.py")), bag
