"""The suite's own rules: a test synchronises on events, not timers, and asserts behaviour, not speed.

Speed is measured in benchmarks (``make bench``), as ratios in one run. A wait polls an observable condition
inside a loop with a deadline; a bare ``sleep`` or a ``Timer`` hopes the other side is done by then."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLOCKS = ("monotonic", "perf_counter", "time")


def _called(node: ast.AST) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _polls(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside a ``while`` loop of the same function: a poll of some condition."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.While):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return False
    return False


def _times_something(test: ast.expr) -> bool:
    """``clock() - started`` compared in an assertion: a duration asserted (``clock() - 3600`` is a cutoff)."""
    return any(isinstance(n, ast.Compare) and any(
        isinstance(side, ast.BinOp) and isinstance(side.op, ast.Sub) and isinstance(side.left, ast.Call)
        and _called(side.left) in CLOCKS and not isinstance(side.right, ast.Constant)
        for side in (n.left, *n.comparators)) for n in ast.walk(test))


def violations(source: str) -> list[str]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "sleep" and not _polls(node, parents):
            found.append(f"line {node.lineno}: sleep as synchronisation (poll a condition with a deadline)")
        if isinstance(node, ast.Call) and _called(node) == "Timer":
            found.append(f"line {node.lineno}: Timer as synchronisation (act on an event)")
        if isinstance(node, ast.Assert) and _times_something(node.test):
            found.append(f"line {node.lineno}: a duration asserted (benchmarks measure speed)")
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Call) and _called(node.test) == "dumps":
            found.append(f"line {node.lineno}: asserts a JSON string, always true")
    return found


def test_the_rules_catch_what_they_name():
    assert len(violations("import time\ntime.sleep(1)\n")) == 1
    assert not violations("import time\nwhile not done():\n    time.sleep(0.1)\n")
    assert len(violations("import threading\nthreading.Timer(6.0, go).start()\n")) == 1
    assert len(violations("import time\nassert time.monotonic() - started < 30\n")) == 1
    assert not violations("import time\nassert time.monotonic() < deadline\n")
    assert not violations("import time\nassert prune(older_than=time.time() - 3600) == 0\n")
    assert len(violations("import json\nassert json.dumps(points)\n")) == 1


def test_no_test_sleeps_times_or_asserts_an_always_true_value():
    found = {str(p.relative_to(TESTS)): v for p in sorted(TESTS.rglob("*.py")) if p != Path(__file__).resolve()
             if (v := violations(p.read_text()))}
    assert not found, found
