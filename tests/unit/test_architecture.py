"""The layering holds: import-linter contracts, every package under a contract, short functions,
and Airflow's plugin loader never importing the library as top-level modules."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import lakehouse
from lakehouse.core.project import find_project_dir
from lakehouse.orchestration.airflow_env import airflow_env

PROJECT_ROOT = find_project_dir()

LIBRARY = Path(lakehouse.__file__).parent
MAX_FUNCTION_LINES = 60
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept():
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_package_of_the_library_sits_in_a_layer():
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    layered = {name.strip() for layer in layers for name in layer.split("|")}
    top_level = {f"lakehouse.{p.stem}" for p in LIBRARY.iterdir()
                 if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    assert top_level == layered, f"not in a layer: {top_level - layered}; gone: {layered - top_level}"


def test_the_layers_contract_fails_on_an_upward_import(tmp_path):
    """A check that cannot fail is no check: an upward import in a copy of the library breaks the contract."""
    copy = tmp_path / "src"
    subprocess.run(["cp", "-r", str(LIBRARY.parent), str(copy)], check=True)
    (copy / "lakehouse" / "core" / "upward.py").write_text("from lakehouse.quality import counts  # noqa\n")
    (tmp_path / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    env = {**os.environ, "PYTHONPATH": str(copy)}
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "lakehouse.core.upward -> lakehouse.quality.counts" in result.stdout


MYPY = Path(sys.executable).parent / "mypy"


def test_the_type_checker_passes_and_fails_on_a_wrong_type(tmp_path):
    """`make lint`'s mypy run is green on the library; a wrong type in a copy of it makes the same run fail."""
    result = subprocess.run([str(MYPY)], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]
    copy = tmp_path / "src"
    subprocess.run(["cp", "-r", str(LIBRARY.parent), str(copy)], check=True)
    checks = copy / "lakehouse" / "core" / "checks.py"
    checks.write_text(checks.read_text().replace("GATE_MIN_SCORE = 95.0", "GATE_MIN_SCORE: str = 95.0"))
    (tmp_path / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    broken = subprocess.run([str(MYPY), "--no-incremental"], cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode == 1 and 'core/checks.py:' in broken.stdout and "[assignment]" in broken.stdout


def test_every_catch_all_says_why_it_cannot_hide_a_failure():
    """A bare ``except Exception`` could swallow an authorization or configuration error: each one that remains
    says on its line why it cannot (it re-raises, or records what it caught as a check's finding)."""
    silent = [f"{path.relative_to(LIBRARY)}:{n}" for path in sorted(LIBRARY.rglob("*.py"))
              for n, line in enumerate(path.read_text().splitlines(), 1)
              if line.strip().startswith(("except Exception", "except BaseException", "except:")) and "#" not in line]
    assert not silent, silent


def test_no_library_function_is_longer_than_a_reviewer_can_read():
    long = []
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(LIBRARY)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_the_plugin_loader_loads_no_library_module_and_stays_light():
    """Load plugins the way the scheduler does; nothing of src/ may appear as a top-level module."""
    probe = (
        "import json, sys\n"
        "from airflow import plugins_manager\n"
        "plugins_manager.ensure_plugins_loaded()\n"
        "top = {n: getattr(m, '__file__', None) for n, m in list(sys.modules.items()) if '.' not in n}\n"
        "names = [p['name'] for p in plugins_manager.get_plugin_info()]\n"
        "print(json.dumps({'top': top, 'errors': plugins_manager.get_import_errors(), 'plugins': names}))\n"
    )
    env = {k: v for k, v in airflow_env(lakehouse.config.Settings()).items() if not k.startswith("LAKEHOUSE_")}
    env = {**os.environ, **env, "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins")}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    # exactly ours (plugins/data_quality.py), and the OpenLineage provider's listener
    assert sorted(loaded["plugins"]) == ["OpenLineageProviderPlugin", "kol_lakehouse_data_quality"]
    from_library = {n for n, f in loaded["top"].items()
                    if n != "lakehouse" and f and Path(f).resolve().is_relative_to(LIBRARY.parent)}
    assert from_library == set(), f"library modules loaded as top-level plugin modules: {sorted(from_library)}"
    assert not {"bronze", "gold", "kafka", "__init__"} & set(loaded["top"])
    heavy = {"numpy", "pyarrow", "pyspark", "hiredis", "great_expectations"} & set(loaded["top"])
    assert not heavy, f"the plugin load imported {sorted(heavy)}"


CODE_DIRS = (LIBRARY, PROJECT_ROOT / "dags", PROJECT_ROOT / "plugins", PROJECT_ROOT / "spark_jobs")


def _third_party_names(tree: ast.Module) -> set[str]:
    """Names a module binds to a third-party module or class (``import redis``, ``from x import Y``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound = [(a.name, (a.asname or a.name).split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            bound = [(node.module, a.asname or a.name) for a in node.names]
        else:
            continue
        names |= {name for module, name in bound
                  if module.split(".")[0] not in ("lakehouse", "__future__", *sys.stdlib_module_names)}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def monkeypatches(source: str) -> list[str]:
    """Assignments to an attribute of an imported third-party module or class, by ``=`` or ``setattr``."""
    tree = ast.parse(source)
    imported, found = _third_party_names(tree), []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            targets = [ast.Attribute(value=node.args[0], attr="?")] if node.args else []
        for target in targets:
            if isinstance(target, ast.Attribute) and _root(target.value) in imported:
                found.append(f"line {node.lineno}: {ast.unparse(target)}")
    return found


def test_no_third_party_class_or_module_is_patched():
    """Extending a library goes through its public seams (subclasses, registries, config); the one GX
    adjustment is a subclass in quality/suites/adapter.py, not an assignment."""
    assert monkeypatches("from great_expectations.execution_engine import SparkDFExecutionEngine\n"
                         "SparkDFExecutionEngine.resolve_metric_bundle = lambda self, b: b\n")
    assert monkeypatches("import great_expectations as gx\nsetattr(gx.core, 'x', 1)\n")
    assert not monkeypatches("import json\njson.x = 1\nfrom pyspark.sql import DataFrame\ndf = DataFrame\n")
    found = {str(path): hits for directory in CODE_DIRS for path in sorted(directory.rglob("*.py"))
             if (hits := monkeypatches(path.read_text()))}
    assert not found, found


def _signatures(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods: what other modules call. (Nested functions are local: a FastAPI
    route or an Airflow @task body is wired by its framework, which reads its annotations at runtime.)"""
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    functions += [m for c in tree.body if isinstance(c, ast.ClassDef)
                  for m in c.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [f for f in functions if not f.name.startswith("_") or f.name == "__init__"]


def unannotated(source: str) -> list[str]:
    """Public functions with a parameter or a return type not annotated."""
    found = []
    for f in _signatures(ast.parse(source)):
        args = [a for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs, f.args.vararg, f.args.kwarg)
                if a is not None and a.arg not in ("self", "cls")]
        if f.returns is None or any(a.annotation is None for a in args):
            found.append(f"line {f.lineno}: {f.name}")
    return found


def unexplained_any(source: str) -> list[str]:
    """Public functions taking or returning a bare ``Any`` without a comment on their signature saying why."""
    lines, found = source.splitlines(), []
    for f in _signatures(ast.parse(source)):
        annotations = [a.annotation for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs, f.args.kwarg)
                       if a is not None] + [f.returns]
        signature = "\n".join(lines[f.lineno - 1:f.body[0].lineno - 1])
        if any(isinstance(a, ast.Name) and a.id == "Any" for a in annotations) and "#" not in signature:
            found.append(f"line {f.lineno}: {f.name}")
    return found


def test_every_public_function_of_the_library_is_annotated_and_says_why_it_takes_any():
    assert unannotated("def f(x) -> int:\n    return 1\nclass C:\n    def g(self, y: int):\n        pass\n") == [
        "line 1: f", "line 4: g"]
    assert unexplained_any("from typing import Any\ndef f(x: Any) -> int:\n    return 1\n") == ["line 2: f"]
    assert not unexplained_any("def f(x: Any) -> int:  # Any: JSON\n    return 1\n")
    problems = {str(p.relative_to(LIBRARY)): found for p in sorted(LIBRARY.rglob("*.py"))
                if (found := unannotated(p.read_text()) + unexplained_any(p.read_text()))}
    assert not problems, problems
