"""Running Great Expectations suites on Spark DataFrames, with results as check results.

Severity per expectation: ``meta.severity`` (``error`` -> FAIL,
``warning`` -> WARN) wins, else GX's own ``severity`` (critical -> FAIL,
warning/info -> WARN).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lakehouse.core.checks import OFFENDING_ROWS, CheckResult, Status
from lakehouse.quality.column_metrics import ColumnMetric, from_profile
from lakehouse.quality.suites.files import referenced_columns
from lakehouse.spark.phases import phase

PROFILED_LAYERS = ("silver", "gold")  # the layers whose columns get metrics (Bronze holds raw payloads)
RESULT_FORMAT = "BASIC"  # counts and percent; sample values and keys of offending rows for failures only
SAMPLE_FIELDS = ("partial_unexpected_list", "partial_unexpected_counts", "partial_unexpected_index_list")
MAX_OFFENDING_ROWS = 20


def severity_status(expectation) -> Status:
    meta = (expectation.meta or {}).get("severity")
    if meta:
        return Status.FAIL if str(meta).lower() in ("error", "critical", "fail") else Status.WARN
    native = str(getattr(expectation, "severity", "critical")).lower()
    return Status.FAIL if native.endswith("critical") else Status.WARN


class SuiteRunner:
    """Runs suites on Spark DataFrames and keeps GX validation results and Data Docs under ``root``.

    ``root`` is a GX file project (``<reports dir>/gx``): each validation is
    stored by GX's own ValidationDefinition, and :meth:`build_docs` renders the
    Data Docs site for this run's results. ``root=None`` validates without
    storing anything (benchmarks, quick checks).

    ``metrics_sample_rows`` > 0 also profiles every column of the Silver and
    Gold tables it validates, in the suite's own pass
    (:mod:`lakehouse.quality.suites.profile`), into :attr:`metrics`.
    """

    def __init__(self, root: Path | None = None, run_name: str = "manual", *, metrics_sample_rows: int = 0):
        import logging

        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        from lakehouse.quality.suites import profile  # noqa: F401  registers the profile metric and expectation
        from lakehouse.quality.suites.engine import sort_spark_bundles

        sort_spark_bundles()  # the same suite, the same Spark code: compiled once per session, not per run
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self.root = root
        if root is None:
            self.context = gx.get_context(mode="ephemeral")
        else:
            root.mkdir(parents=True, exist_ok=True)
            self.context = gx.get_context(mode="file", project_root_dir=str(root))
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        # persist=False: GX would cache the whole batch first; each metric's own pruned Parquet
        # scan is cheaper, and nothing stale stays cached in a long-lived session.
        self.source = self.context.data_sources.add_or_update_spark(name="lake", persist=False)
        self.run_id = RunIdentifier(run_name=re.sub(r"[^A-Za-z0-9_.-]+", "_", run_name))
        self.validated: dict[str, object] = {}  # table -> ValidationResultIdentifier
        self.metrics_sample_rows = metrics_sample_rows
        self.metrics: list[ColumnMetric] = []

    def _batch_definition(self, table: str):
        try:
            asset = self.source.get_asset(table)
        except LookupError:
            asset = self.source.add_dataframe_asset(name=table)
        try:
            return asset.get_batch_definition("whole")
        except KeyError:
            return asset.add_batch_definition_whole_dataframe("whole")

    def validate(self, df, table: str, suite, *, layer: str, key_columns=(), scope: str = "") -> list[CheckResult]:
        """One CheckResult per expectation; for failed ones, up to 20 offending rows by key.

        ``scope`` names a part of the table judged on its own (``increment``: the rows a WAP branch
        wrote); its results and its Data Docs page are kept apart from the whole table's.

        The first pass asks for counts alone (one pruned scan per metric); sample values and offending keys
        are looked up for the failed expectations alone, since samples cost a scan per rule and an
        index-column result several times the validation itself.
        """
        import great_expectations as gx

        from lakehouse.quality.suites.profile import profile_expectations

        profiling = self.metrics_sample_rows > 0 and layer in PROFILED_LAYERS
        if profiling:
            suite = suite_of(suite.name, [e.configuration for e in (*suite.expectations, *profile_expectations(df))])
        df = project(df, suite, key_columns)
        name = f"{table}.{scope}" if scope else table
        batch_def = self._batch_definition(name)
        params = {"dataframe": df}
        result_format = {"result_format": RESULT_FORMAT, "partial_unexpected_count": 0}
        if self.root is None:
            validation = batch_def.get_batch(batch_parameters=params).validate(suite, result_format=result_format)
        else:
            suite = self._store_suite(suite)
            definition = self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
            validation = definition.run(batch_parameters=params, result_format=result_format, run_id=self.run_id)
            self.validated[name] = validation
        failed = [r for r in validation.results if not r.success]
        if failed:
            self._sample_failures(validation, failed, batch_def.get_batch(batch_parameters=params), suite.name,
                                  key_columns)
        if profiling:
            self.metrics += self._column_metrics(validation, df, table, scope)
        return _check_results(validation, table, layer, scope)

    def _store_suite(self, suite):
        """``suite`` as GX's stored copy, which validations and Data Docs refer to.

        GX reads the stored copy before replacing it. One an earlier version of this code wrote may no longer
        read (a custom expectation's fields changed), and the copy is only that: the suite file and the
        runner make it anew each run. So an unreadable copy is removed and the suite stored fresh, as GX's
        own ``suites.all()`` passes over such copies, rather than failing every audit after an upgrade.
        """
        from great_expectations.compatibility.pydantic import ValidationError

        try:
            return self.context.suites.add_or_update(suite)
        except ValidationError:
            store = self.context.expectations_store
            store.remove_key(store.get_key(name=suite.name, id=None))
            return self.context.suites.add(suite)

    def _sample_failures(self, validation, failed: list, batch, suite_name: str, key_columns) -> None:
        """Sample values and offending keys of the ``failed`` results, merged into them and so into
        ``validation`` (and its stored copy, which Data Docs render).

        The first pass asks for counts only: GX fetches sample values with one more scan per rule, for
        passing rules too, where it finds none (5 of the 14 Spark jobs of a suite on 1M Silver rows).
        """
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_OFFENDING_ROWS}
        if key_columns:
            result_format["unexpected_index_column_names"] = list(key_columns)
        retry = batch.validate(suite_of(f"{suite_name}.offending", [r.expectation_config for r in failed]),
                               result_format=result_format)
        samples = {_config_key(r.expectation_config): r.result or {} for r in retry.results}
        for r in failed:
            sample = samples.get(_config_key(r.expectation_config), {})
            r.result = {**(r.result or {}), **{k: sample[k] for k in SAMPLE_FIELDS if k in sample}}
        if self.root is not None:
            self.context.validation_results_store.set(key=_result_id(validation, self.run_id), value=validation)

    def _column_metrics(self, validation, df, table: str, scope: str) -> list[ColumnMetric]:
        """The profiles the suite pass observed, with distinct ratios and quantiles measured on the batch (or
        a sample of it) by one more Spark job."""
        from lakehouse.quality.suites.profile import is_profile, sketch

        profile = next((r.result["observed_value"] for r in validation.results
                        if is_profile(r.expectation_config) and r.success), None)
        if not profile or not profile["columns"]:
            return []
        rows, observed = profile["rows"], profile["columns"]
        with phase("checks.metrics_sketch"):
            sketches = sketch(df.select(*observed), rows, self.metrics_sample_rows)
        return [m for column, values in observed.items()
                for m in from_profile(table, scope, column, {"rows": rows, **values}, sketches.get(column, {}))]

    def build_docs(self) -> dict[str, str]:
        """Render Data Docs for this run's validations; ``{table: path of its page}``."""
        if self.root is None or not self.validated:
            return {}
        ids = {table: _result_id(r, self.run_id) for table, r in self.validated.items()}
        self.context.build_data_docs(resource_identifiers=list(ids.values()))
        return {table: self.context.get_docs_sites_urls(resource_identifier=rid)[0]["site_url"].removeprefix("file://")
                for table, rid in ids.items()}


WHOLE_TABLE_TYPES = ("expect_table_columns", "expect_table_column_count", "expect_column_to_exist")


def project(df, suite, key_columns=()):
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


def suite_of(name: str, configurations) -> object:
    """A new suite of copies of ``configurations``: an expectation belongs to one suite, and one a stored
    suite gave an id to is refused by any other."""
    import great_expectations as gx

    expectations = [c.to_domain_obj() for c in configurations]
    for expectation in expectations:
        expectation.id = None
    return gx.ExpectationSuite(name=name, expectations=expectations)


def _result_id(validation, run_id):
    """The key GX stored ``validation`` under (a run's result per suite and batch)."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(ExpectationSuiteIdentifier(name=validation.suite_name), run_id,
                                      validation.batch_id)


def _config_key(config) -> str:
    return json.dumps([config.type, config.kwargs], sort_keys=True, default=str)


def _check_results(validation, table: str, layer: str, scope: str = "") -> list[CheckResult]:
    from lakehouse.quality.suites.profile import is_profile

    out = []
    prefix = f"suite.{table}.{scope}" if scope else f"suite.{table}"
    seen: dict[str, int] = {}
    for r in validation.results:
        cfg = r.expectation_config
        if is_profile(cfg) and r.success:  # observations, not checks: they are the run's column metrics
            continue
        column = cfg.kwargs.get("column") or "+".join(cfg.kwargs.get("column_list", []) or []) or "table"
        base = f"{prefix}.{cfg.type}.{column}"
        seen[base] = seen.get(base, 0) + 1
        check_id = base if seen[base] == 1 else f"{base}.{seen[base]}"
        res = r.result or {}
        observed = res.get("unexpected_percent", res.get("observed_value"))
        threshold = {k: v for k, v in cfg.kwargs.items() if k not in ("column", "batch_id")}
        details = ""
        if not r.success:
            rows = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
            unexpected = res.get("unexpected_count")
            details = (f"{unexpected} unexpected; " if unexpected is not None else "") + (
                f"{OFFENDING_ROWS}{json.dumps(rows[:MAX_OFFENDING_ROWS], default=str)}" if rows else "")
            if r.exception_info and r.exception_info.get("raised_exception"):
                details += f" error: {r.exception_info.get('exception_message')}"
        status = Status.PASS if r.success else severity_status(cfg)
        out.append(CheckResult(check_id, layer, table, status,
                               round(observed, 4) if isinstance(observed, float) else observed,
                               json.dumps(threshold, default=str), details.strip()))
    return out
