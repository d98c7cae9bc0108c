"""Running Great Expectations suites on Spark DataFrames, with results as check results.

Severity per expectation: ``meta.severity`` (``error`` -> FAIL,
``warning`` -> WARN) wins, else GX's own ``severity`` (critical -> FAIL,
warning/info -> WARN).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.core.checks import OFFENDING_ROWS, CheckResult, Status
from lakehouse.quality.column_metrics import ColumnMetric, from_profile
from lakehouse.quality.suites.files import referenced_columns
from lakehouse.spark.phases import phase

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from pyspark.sql import DataFrame

PROFILED_LAYERS = ("silver", "gold")  # the layers whose columns get metrics (Bronze holds raw payloads)
RESULT_FORMAT = "BASIC"  # counts and percent; sample values and keys of offending rows for failures only
SAMPLE_FIELDS = ("partial_unexpected_list", "partial_unexpected_counts", "partial_unexpected_index_list")
MAX_OFFENDING_ROWS = 20


def severity_status(expectation: Any) -> Status:  # Any: a GX Expectation or ExpectationConfiguration
    """FAIL or WARN for a failed ``expectation`` (see the module doc)."""
    meta = (expectation.meta or {}).get("severity")
    if meta:
        return Status.FAIL if str(meta).lower() in ("error", "critical", "fail") else Status.WARN
    native = str(getattr(expectation, "severity", "critical")).lower()
    return Status.FAIL if native.endswith("critical") else Status.WARN


class SuiteRunner:
    """Runs suites on Spark DataFrames and keeps GX validation results and Data Docs under ``root``.

    ``root`` is a GX file project (``<reports dir>/gx``): each table is validated by GX's public route, a
    Validation Definition run by a Checkpoint whose actions store the result and update Data Docs
    (:meth:`_checkpoint_run`); :meth:`docs_pages` names the page of each. ``root=None`` validates without
    storing anything (benchmarks, quick checks).

    ``metrics_sample_rows`` > 0 also profiles every column of the Silver and
    Gold tables it validates, in the suite's own pass
    (:mod:`lakehouse.quality.suites.profile`), into :attr:`metrics`.
    """

    def __init__(self, root: Path | None = None, run_name: str = "manual", *, metrics_sample_rows: int = 0) -> None:
        import logging

        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from lakehouse.quality.suites import profile  # noqa: F401  registers the profile metric and expectation
        from lakehouse.quality.suites.adapter import lake_source

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self.root = root
        self.context: AbstractDataContext
        if root is None:
            self.context = gx.get_context(mode="ephemeral")
        else:
            root.mkdir(parents=True, exist_ok=True)
            self.context = gx.get_context(mode="file", project_root_dir=str(root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = lake_source(self.context)  # the same suite, the same Spark code: compiled once per session
        self.run_id = RunIdentifier(run_name=re.sub(r"[^A-Za-z0-9_.-]+", "_", run_name))
        self.validated: dict[str, ValidationResultIdentifier] = {}  # validation name -> GX's key of its result
        self.metrics_sample_rows = metrics_sample_rows
        self.metrics: list[ColumnMetric] = []

    def _batch_definition(self, name: str) -> BatchDefinition[Any]:
        try:
            asset = self.source.get_asset(name)
        except LookupError:
            asset = self.source.add_dataframe_asset(name=name)
        try:
            definition: BatchDefinition[Any] = asset.get_batch_definition("whole")
        except KeyError:
            definition = asset.add_batch_definition_whole_dataframe("whole")
        return definition

    def validate(self, df: DataFrame, table: str, suite: ExpectationSuite, *, layer: str, key_columns: Sequence[str] = (),
                 scope: str = "") -> list[CheckResult]:
        """One CheckResult per expectation; for failed ones, up to 20 offending rows by key.

        ``scope`` names a part of the table judged on its own (``increment``: the rows a WAP branch
        wrote); its results and its Data Docs page are kept apart from the whole table's.

        The first pass asks for counts alone (one pruned scan per metric); sample values and offending keys
        are looked up for the failed expectations alone (:meth:`_offending`), since samples cost a scan per
        rule and an index-column result several times the validation itself.
        """
        from lakehouse.quality.suites.profile import profile_expectations

        profiling = self.metrics_sample_rows > 0 and layer in PROFILED_LAYERS
        if profiling:
            suite = suite_of(suite.name, [e.configuration for e in (*suite.expectations, *profile_expectations(df))])
        df = project(df, suite, key_columns)
        name = f"{table}.{scope}" if scope else table
        counts = {"result_format": RESULT_FORMAT, "partial_unexpected_count": 0}
        validation = self._run(name, suite, df, counts)
        failed = [_config(r) for r in validation.results if not r.success]
        samples = self._offending(name, suite.name, df, failed, key_columns) if failed else {}
        if profiling:
            self.metrics += self._column_metrics(validation, df, table, scope)
        return _check_results(validation, table, layer, scope, samples)

    def _run(self, name: str, suite: ExpectationSuite, df: DataFrame,
             result_format: dict[str, Any]) -> ExpectationSuiteValidationResult:
        """GX's validation result of ``suite`` on ``df`` (stored, with its Data Docs page, under a root)."""
        batch_definition, parameters = self._batch_definition(name), {"dataframe": df}
        if self.root is None:
            return batch_definition.get_batch(batch_parameters=parameters).validate(suite, result_format=result_format)
        return self._checkpoint_run(name, batch_definition, suite, parameters, result_format)

    def _checkpoint_run(self, name: str, batch_definition: BatchDefinition[Any], suite: ExpectationSuite,
                        parameters: dict[str, Any], result_format: dict[str, Any]) -> ExpectationSuiteValidationResult:
        """Validate by GX's public production route: the suite and a Validation Definition stored, run by a
        Checkpoint whose actions store the result and update the Data Docs site."""
        import great_expectations as gx
        from great_expectations.checkpoint.actions import UpdateDataDocsAction

        from lakehouse.quality.suites.adapter import store_suite

        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=store_suite(self.context, suite)))
        checkpoint = self.context.checkpoints.add_or_update(gx.Checkpoint(
            name=name, validation_definitions=[definition], result_format=result_format,
            actions=[UpdateDataDocsAction(name="update_data_docs")]))
        [(result_id, validation)] = checkpoint.run(batch_parameters=parameters, run_id=self.run_id).run_results.items()
        self.validated[name] = result_id
        return validation

    def _offending(self, name: str, suite_name: str, df: DataFrame, failed: list[ExpectationConfiguration],
                   key_columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Sample values and offending keys of the ``failed`` expectations, by :func:`_config_key`.

        A validation of its own (``<name>.offending``, stored with its Data Docs page beside the table's):
        GX fetches sample values with one more scan per rule, for passing rules too, where it finds none
        (5 of the 14 Spark jobs of a suite on 1M Silver rows), so the first pass asks for counts only.
        """
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_OFFENDING_ROWS}
        if key_columns:
            result_format["unexpected_index_column_names"] = list(key_columns)
        retry = self._run(f"{name}.offending", suite_of(f"{suite_name}.offending", failed), df, result_format)
        return {_config_key(_config(r)): {k: v for k, v in (r.result or {}).items() if k in SAMPLE_FIELDS}
                for r in retry.results}

    def _column_metrics(self, validation: ExpectationSuiteValidationResult, df: DataFrame, table: str,
                        scope: str) -> list[ColumnMetric]:
        """The profiles the suite pass observed, with distinct ratios and quantiles measured on the batch (or
        a sample of it) by one more Spark job."""
        from lakehouse.quality.suites.profile import is_profile, sketch

        profile = next((r.result["observed_value"] for r in validation.results
                        if is_profile(_config(r)) and r.success), None)
        if not profile or not profile["columns"]:
            return []
        rows, observed = profile["rows"], profile["columns"]
        with phase("checks.metrics_sketch"):
            sketches = sketch(df.select(*observed), rows, self.metrics_sample_rows)
        return [m for column, values in observed.items()
                for m in from_profile(table, scope, column, {"rows": rows, **values}, sketches.get(column, {}))]

    def docs_pages(self) -> dict[str, str]:
        """``{validation name: path of its Data Docs page}`` for this run's validations (the Checkpoints'
        ``UpdateDataDocsAction`` rendered them); a table's failures have a ``<name>.offending`` page too."""
        pages = {name: self.context.get_docs_sites_urls(resource_identifier=result_id)[0]["site_url"]
                 for name, result_id in self.validated.items()}
        return {name: url.removeprefix("file://") for name, url in pages.items() if url}


WHOLE_TABLE_TYPES = ("expect_table_columns", "expect_table_column_count", "expect_column_to_exist")


def project(df: DataFrame, suite: ExpectationSuite, key_columns: Sequence[str] = ()) -> DataFrame:
    """Only the columns the suite reads (plus the keys that name offending rows).

    GX persists the batch and scans it once per metric: on a wide table,
    carrying every column costs several times the validation itself.
    Expectations about the table's columns see the whole table.
    """
    if any(e.expectation_type.startswith(WHOLE_TABLE_TYPES) for e in suite.expectations):
        return df
    wanted = dict.fromkeys([*key_columns, *(c for e in suite.expectations for c in referenced_columns(e))])
    columns = [c for c in df.columns if c in wanted] or df.columns[:1]
    return df.select(*columns)


def suite_of(name: str, configurations: Iterable[ExpectationConfiguration]) -> ExpectationSuite:
    """A new suite of copies of ``configurations``: an expectation belongs to one suite, and one a stored
    suite gave an id to is refused by any other."""
    import great_expectations as gx

    expectations = [c.to_domain_obj() for c in configurations]
    for expectation in expectations:
        expectation.id = None
    return gx.ExpectationSuite(name=name, expectations=expectations)


def _config(result: ExpectationValidationResult) -> ExpectationConfiguration:
    """The expectation a result judged (GX sets it on every result of a suite's validation)."""
    if result.expectation_config is None:
        raise ValueError("a GX validation result without the expectation it judged")
    return result.expectation_config


def _config_key(config: ExpectationConfiguration) -> str:
    """What an expectation checks, whichever batch (and so ``batch_id`` kwarg) it ran on."""
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _check_results(validation: ExpectationSuiteValidationResult, table: str, layer: str, scope: str = "",
                   samples: dict[str, dict[str, Any]] | None = None) -> list[CheckResult]:
    """GX's results as check rows (observed value, threshold, and for failures their offending rows from
    ``samples``); ids are ``suite.<table>[.<scope>].<type>.<column>``, numbered when a rule repeats."""
    from lakehouse.quality.suites.profile import is_profile

    out = []
    prefix = f"suite.{table}.{scope}" if scope else f"suite.{table}"
    seen: dict[str, int] = {}
    for r in validation.results:
        cfg = _config(r)
        if is_profile(cfg) and r.success:  # observations, not checks: they are the run's column metrics
            continue
        column = cfg.kwargs.get("column") or "+".join(cfg.kwargs.get("column_list", []) or []) or "table"
        base = f"{prefix}.{cfg.type}.{column}"
        seen[base] = seen.get(base, 0) + 1
        res = {**(r.result or {}), **(samples or {}).get(_config_key(cfg), {})}
        observed = res.get("unexpected_percent", res.get("observed_value"))
        threshold = {k: v for k, v in cfg.kwargs.items() if k not in ("column", "batch_id")}
        out.append(CheckResult(base if seen[base] == 1 else f"{base}.{seen[base]}", layer, table,
                               Status.PASS if r.success else severity_status(cfg),
                               round(observed, 4) if isinstance(observed, float) else observed,
                               json.dumps(threshold, default=str), "" if r.success else _failure_details(r, res)))
    return out


def _failure_details(result: ExpectationValidationResult, res: dict[str, Any]) -> str:
    """``<n> unexpected; offending rows: [...]`` and GX's error, if the rule raised one."""
    rows = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    unexpected = res.get("unexpected_count")
    details = (f"{unexpected} unexpected; " if unexpected is not None else "") + (
        f"{OFFENDING_ROWS}{json.dumps(rows[:MAX_OFFENDING_ROWS], default=str)}" if rows else "")
    if result.exception_info and result.exception_info.get("raised_exception"):
        details += f" error: {result.exception_info.get('exception_message')}"
    return details.strip()
