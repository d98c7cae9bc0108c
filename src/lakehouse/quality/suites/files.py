"""Suite files: ``expectations/<layer>/<table>.json``, one GX-native ExpectationSuite per table.

Adding a file is all it takes: the WAP audit and the nightly run discover
suites by path. A suite GX would load with a rule silently dropped is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import get_settings

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation import Expectation

log = logging.getLogger(__name__)

COLUMN_KWARGS = ("column", "column_A", "column_B")


class SuiteError(ValueError):
    pass


def discover(directory: Path | None = None) -> dict[str, Path]:
    """``{"silver.kol_profiles": path, ...}`` for every ``<layer>/<table>.json`` (settings' expectations dir)."""
    directory = directory or get_settings().expectations_dir
    return {f"{p.parent.name}.{p.stem}": p for p in sorted(directory.glob("*/*.json"))}


class _Collector(logging.Handler):
    """Keeps the records it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _gx_log_to_debug() -> Iterator[None]:
    """GX logs an expectation it drops with a 30-line traceback; :func:`load_suite` reports the same as one
    line naming the file and the expectation, so GX's records go to this module's DEBUG log (``lakehouse -v``
    shows them) instead of stderr."""
    gx_log = logging.getLogger("great_expectations")
    handler = _Collector()
    propagate, gx_log.propagate = gx_log.propagate, False
    gx_log.addHandler(handler)
    try:
        yield
    finally:
        gx_log.removeHandler(handler)
        gx_log.propagate = propagate
        for record in handler.records:
            log.debug("great_expectations: %s", record.getMessage(), exc_info=record.exc_info)


def load_suite(path: Path) -> ExpectationSuite:
    """The suite in ``path``; :class:`SuiteError` names the file and what is wrong (GX would drop a rule it
    cannot load, and log it)."""
    import great_expectations as gx

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: not an ExpectationSuite (needs 'name' and an 'expectations' list)")
    data.setdefault("name", f"{path.parent.name}.{path.stem}")
    try:
        with _gx_log_to_debug():
            suite = gx.ExpectationSuite(**data)
    except Exception as exc:  # GX raises its own and pydantic's errors for bad kwargs: each is reported
        raise SuiteError(f"{path}: {type(exc).__name__}: {exc}") from exc
    # GX logs an unknown expectation type and drops it: a typo would silently remove a rule.
    loaded = [e.expectation_type for e in suite.expectations]
    for i, exp in enumerate(data["expectations"]):
        wanted = exp.get("type") if isinstance(exp, dict) else None
        if wanted not in loaded:
            raise SuiteError(f"{path}: expectation #{i + 1} {wanted!r}: unknown expectation type or invalid kwargs")
        loaded.remove(wanted)
    refuse_unreviewed_sql(path, suite)
    return suite


SQL_ALLOWLIST = "sql_allowlist.json"  # beside the layer folders: expectations/sql_allowlist.json
QUERY_KWARG = "query"  # any kwarg whose name holds it carries SQL (unexpected_rows_query, query, ...)


def sql_of(expectation: Expectation) -> str | None:
    """The SQL an expectation would run on the lake, or None.

    GX's query-based types (``unexpected_rows_expectation``, every ``QueryExpectation``) run arbitrary
    SQL through the engine: with a suite file anyone can drop in, that is code review territory.
    """
    from great_expectations.expectations.expectation import QueryExpectation, UnexpectedRowsExpectation

    kwargs = expectation.configuration.kwargs
    queries = [str(v) for k, v in kwargs.items() if QUERY_KWARG in k.lower() and v]
    if queries or isinstance(expectation, QueryExpectation | UnexpectedRowsExpectation):
        return " ; ".join(queries) or f"<the {expectation.expectation_type} default query>"
    return None


def sql_allowlist(directory: Path) -> list[dict[str, Any]]:
    """Reviewed queries: ``[{"suite": "<layer>.<table>", "query": "<exact text>", "reviewed_by": ...}]``."""
    path = directory / SQL_ALLOWLIST
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text()).get("allowed") or [])
    except (json.JSONDecodeError, AttributeError) as exc:
        raise SuiteError(f"{path}: not a valid SQL allow-list ({exc})") from exc


def refuse_unreviewed_sql(path: Path, suite: ExpectationSuite) -> None:
    """A SQL-running expectation loads only when its suite opts in (``meta.allow_sql: true``) and the
    allow-list names that exact query for the file's table: changing the query needs a review again."""
    table = f"{path.parent.name}.{path.stem}"  # what the file judges (its name field is free text)
    allowed = {(a.get("suite"), a.get("query")) for a in sql_allowlist(path.parent.parent)}
    opted_in = bool((suite.meta or {}).get("allow_sql"))
    for i, expectation in enumerate(suite.expectations, 1):
        query = sql_of(expectation)
        if query is None or (opted_in and (table, query) in allowed):
            continue
        why = ("the suite does not opt in (meta.allow_sql: true)" if not opted_in else
               f"{path.parent.parent / SQL_ALLOWLIST} does not name this query for suite {table!r}")
        raise SuiteError(f"{path}: #{i} {expectation.expectation_type} runs SQL on the lake ({query[:120]}); "
                         f"refused: {why}")


def referenced_columns(expectation: Expectation) -> list[str]:
    kwargs = expectation.configuration.kwargs
    cols = [kwargs[k] for k in COLUMN_KWARGS if kwargs.get(k)]
    return cols + list(kwargs.get("column_list") or [])
