"""Expectation suites: files (discover, load), lint, and the GX runner."""

from lakehouse.quality.suites.files import SuiteError, discover, load_suite, referenced_columns
from lakehouse.quality.suites.lint import LintProblem, lint
from lakehouse.quality.suites.runner import SuiteRunner, project, severity_status, suite_of

__all__ = ["LintProblem", "SuiteError", "SuiteRunner", "discover", "lint", "load_suite", "project",
           "referenced_columns", "severity_status", "suite_of"]
