"""Suite files: ``expectations/<layer>/<table>.json``, one GX-native ExpectationSuite per table.

Adding a file is all it takes: the WAP audit and the nightly run discover
suites by path. A suite GX would load with a rule silently dropped is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from lakehouse.config import get_settings

COLUMN_KWARGS = ("column", "column_A", "column_B")


class SuiteError(ValueError):
    pass


def discover(directory: Path | None = None) -> dict[str, Path]:
    """``{"silver.kol_profiles": path, ...}`` for every ``<layer>/<table>.json`` (settings' expectations dir)."""
    directory = directory or get_settings().expectations_dir
    return {f"{p.parent.name}.{p.stem}": p for p in sorted(directory.glob("*/*.json"))}


def load_suite(path: Path):
    import great_expectations as gx

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: not an ExpectationSuite (needs 'name' and an 'expectations' list)")
    data.setdefault("name", f"{path.parent.name}.{path.stem}")
    try:
        suite = gx.ExpectationSuite(**data)
    except Exception as exc:  # bad kwargs
        raise SuiteError(f"{path}: {type(exc).__name__}: {exc}") from exc
    # GX logs an unknown expectation type and drops it: a typo would silently remove a rule.
    loaded = [e.expectation_type for e in suite.expectations]
    for i, exp in enumerate(data["expectations"]):
        wanted = exp.get("type") if isinstance(exp, dict) else None
        if wanted not in loaded:
            raise SuiteError(f"{path}: expectation #{i + 1} {wanted!r}: unknown expectation type or invalid kwargs")
        loaded.remove(wanted)
    return suite


def referenced_columns(expectation) -> list[str]:
    kwargs = expectation.configuration.kwargs
    cols = [kwargs[k] for k in COLUMN_KWARGS if kwargs.get(k)]
    return cols + list(kwargs.get("column_list") or [])
