"""``lakehouse suites lint``: every problem of every suite file, before a run finds it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.quality.suites.files import SuiteError, discover, load_suite, referenced_columns

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


@dataclass
class LintProblem:
    file: str
    expectation: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.expectation}: {self.reason}"


def lint(directory: Path | None = None, catalog: Catalog | None = None,
         known_tables: Iterable[str] = ()) -> list[LintProblem]:
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
