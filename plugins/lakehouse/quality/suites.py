"""Great Expectations suites from files: ``expectations/<layer>/<table>.json``, one per table.

A file holds a GX-native ExpectationSuite (``suite.to_json_dict()``). Adding a
file is all it takes: the WAP audit and the nightly run discover suites by
path. Severity per expectation: ``meta.severity`` (``error`` -> FAIL,
``warning`` -> WARN) wins, else GX's own ``severity`` (critical -> FAIL,
warning/info -> WARN).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lakehouse.config import get_settings
from lakehouse.quality.results import CheckResult, Status

RESULT_FORMAT = "SUMMARY"
MAX_OFFENDING_ROWS = 20


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


@dataclass
class LintProblem:
    file: str
    expectation: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.expectation}: {self.reason}"


COLUMN_KWARGS = ("column", "column_A", "column_B")


def referenced_columns(expectation) -> list[str]:
    kwargs = expectation.configuration.kwargs
    cols = [kwargs[k] for k in COLUMN_KWARGS if kwargs.get(k)]
    return cols + list(kwargs.get("column_list") or [])


def lint(directory: Path | None = None, catalog=None, known_tables=()) -> list[LintProblem]:
    """Every problem of every suite file: unparsable, unknown expectation, unknown table or column.

    Columns are checked against the table's current Iceberg schema; a table the
    platform knows but has not created yet is reported as not checked (no problem).
    """
    from pyiceberg.exceptions import NoSuchTableError

    problems: list[LintProblem] = []
    for table, path in discover(directory).items():
        try:
            suite = load_suite(path)
        except SuiteError as exc:
            problems.append(LintProblem(str(path), "-", str(exc).removeprefix(f"{path}: ")))
            continue
        try:
            columns = {f.name for f in catalog.load_table(table).schema().fields} if catalog else None
        except NoSuchTableError:
            columns = None
            if table not in known_tables:
                problems.append(LintProblem(str(path), "-", f"no table {table} in the catalog"))
                continue
        if columns is None:
            continue
        for i, expectation in enumerate(suite.expectations, 1):
            for column in referenced_columns(expectation):
                if column not in columns:
                    problems.append(LintProblem(
                        str(path), f"#{i} {expectation.expectation_type}",
                        f"column {column!r} is not in {table} (columns: {', '.join(sorted(columns))})"))
    return problems


def severity_status(expectation) -> Status:
    meta = (expectation.meta or {}).get("severity")
    if meta:
        return Status.FAIL if str(meta).lower() in ("error", "critical", "fail") else Status.WARN
    native = str(getattr(expectation, "severity", "critical")).lower()
    return Status.FAIL if native.endswith("critical") else Status.WARN


@lru_cache(maxsize=1)
def _spark_source():
    import logging

    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context, context.data_sources.add_spark(name="lake")


def validate_dataframe(df, table: str, suite, *, layer: str, key_columns=()) -> list[CheckResult]:
    """Run ``suite`` on a Spark DataFrame; one CheckResult per expectation, offending rows by key."""
    _, source = _spark_source()
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(name=table)
    try:
        batch_def = asset.get_batch_definition("whole")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    result_format = {"result_format": RESULT_FORMAT, "partial_unexpected_count": MAX_OFFENDING_ROWS}
    if key_columns:
        result_format["unexpected_index_column_names"] = list(key_columns)
    validation = batch_def.get_batch(batch_parameters={"dataframe": df}).validate(suite, result_format=result_format)
    out = []
    seen: dict[str, int] = {}
    for r in validation.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column") or "+".join(cfg.kwargs.get("column_list", []) or []) or "table"
        base = f"suite.{table}.{cfg.type}.{column}"
        seen[base] = seen.get(base, 0) + 1
        check_id = base if seen[base] == 1 else f"{base}.{seen[base]}"
        res = r.result or {}
        observed = res.get("unexpected_percent", res.get("observed_value"))
        threshold = {k: v for k, v in cfg.kwargs.items() if k not in ("column", "batch_id")}
        offending = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
        details = ""
        if not r.success:
            unexpected = res.get("unexpected_count")
            details = (f"{unexpected} unexpected; " if unexpected is not None else "") + (
                f"offending rows: {json.dumps(offending[:MAX_OFFENDING_ROWS], default=str)}" if offending else "")
            if r.exception_info and r.exception_info.get("raised_exception"):
                details += f" error: {r.exception_info.get('exception_message')}"
        status = Status.PASS if r.success else severity_status(cfg)
        out.append(CheckResult(check_id, layer, table, status,
                               round(observed, 4) if isinstance(observed, float) else observed,
                               json.dumps(threshold, default=str), details.strip()))
    return out
