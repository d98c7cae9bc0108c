"""Column metrics computed inside a suite's own validation pass (no extra scan of the table).

GX bundles the aggregate partials of one compute domain that become ready in
the same round into one ``DataFrame.agg``: the suite's unexpected counts are
one Spark job. :class:`TableProfile` is such a partial (per column: non-null
count, and min/max/mean for numerics), and it waits on a map condition like the
unexpected counts do, so it joins their job instead of starting one.
:class:`ExpectTableProfileToBeRecorded` only observes (it never fails); the
runner appends it to a suite at run time and takes its observed value out of
the results before they become checks. One table-domain expectation rather than
one per column: GX's cost per expectation would grow with the table's width.

Distinct ratio and p50/p95 need sketches (HyperLogLog, percentile summaries),
which Spark evaluates without whole-stage code generation: inside the suite's
aggregate they would slow every rule of it, and in a task's fresh JVM even a
few thousand rows paid ~0.9 s per table for them (interpreted sketches, a
bigger aggregate to compile). So one more job collects the batch's columns as
Arrow — all of them when the batch has at most ``sample_rows`` rows (an
increment, a small table: exact figures), else a uniform sample of about
``sample_rows``, as Deequ's profiler samples for its sketches — and
:func:`sketch` measures them on the driver.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.metric_function_types import MetricPartialFunctionTypes
from great_expectations.execution_engine.execution_engine import ExecutionEngine
from great_expectations.execution_engine.sparkdf_execution_engine import SparkDFExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_partial
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
from great_expectations.validator.metric_configuration import MetricConfiguration

if TYPE_CHECKING:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

PROFILE_METRIC = "table.lakehouse_profile"
PROFILE_EXPECTATION = "expect_table_profile_to_be_recorded"
# GX resolves metrics in rounds; the unexpected counts' aggregate waits on each rule's map condition
BUNDLE_WITH = "column_values.nonnull.condition"
SAMPLE_SEED = 7
PERCENTILES = (0.5, 0.95)


def numeric(dtype: DataType) -> bool:
    from pyspark.sql import types as T

    return isinstance(dtype, T.NumericType)


def profiled_type(dtype: DataType) -> bool:
    """Columns with a null rate and distinct ratio worth watching: atoms, not structs, maps, arrays or bytes."""
    from pyspark.sql import types as T

    return not isinstance(dtype, T.StructType | T.MapType | T.ArrayType | T.BinaryType)


def column_profile(name: str, dtype: DataType) -> Column:
    """``{non_null, min, max, mean}`` of one column as a struct (min/max/mean for numerics)."""
    from pyspark.sql import functions as F

    column = F.col(name)
    aggregates = [F.count(column).alias("non_null")]
    if numeric(dtype):
        value = column.cast("double")
        aggregates += [F.min(value).alias("min"), F.max(value).alias("max"), F.avg(value).alias("mean")]
    return F.struct(*aggregates).alias(name)


class TableProfile(TableMetricProvider):
    """``{column: profile}`` of every profiled column, as one JSON aggregate in the suite's own job.

    One table-domain metric, not one per column: GX's cost per expectation (graph, validation, result)
    would otherwise grow with the table's width."""

    metric_name = PROFILE_METRIC
    value_keys = ("column_list",)

    @metric_partial(engine=SparkDFExecutionEngine, partial_fn_type=MetricPartialFunctionTypes.AGGREGATE_FN,
                    domain_type=MetricDomainTypes.TABLE)
    def _spark(cls, execution_engine: SparkDFExecutionEngine, metric_domain_kwargs: dict[str, Any],
               metric_value_kwargs: dict[str, Any], metrics: dict[str, Any],
               runtime_configuration: dict[str, Any]) -> tuple[Column, dict[str, Any], dict[str, Any]]:
        from pyspark.sql import functions as F

        df, compute_kwargs, accessor_kwargs = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        wanted = set(metric_value_kwargs["column_list"])
        columns = [column_profile(f.name, f.dataType) for f in df.schema if f.name in wanted]
        return F.to_json(F.struct(*columns)), compute_kwargs, accessor_kwargs

    @classmethod
    def _get_evaluation_dependencies(cls, metric: MetricConfiguration,
                                     configuration: ExpectationConfiguration | None = None,
                                     execution_engine: ExecutionEngine[Any] | None = None,
                                     runtime_configuration: dict[str, Any] | None = None) -> dict[str, Any]:
        dependencies: dict[str, Any] = super()._get_evaluation_dependencies(
            metric=metric, configuration=configuration, execution_engine=execution_engine,
            runtime_configuration=runtime_configuration)
        if metric.metric_name.endswith(".aggregate_fn"):
            # ready in the unexpected counts' round, so GX bundles it into their aggregate: one job
            column = {**metric.metric_domain_kwargs, "column": metric.metric_value_kwargs["column_list"][0]}
            dependencies["bundle_with"] = MetricConfiguration(BUNDLE_WITH, column, {})
        return dependencies


class ExpectTableProfileToBeRecorded(BatchExpectation):
    """Observe-only: records every profiled column's profile and the batch's rows; always succeeds."""

    column_list: list[str]
    metric_dependencies = (PROFILE_METRIC, "table.row_count")
    success_keys = ("column_list",)

    def _validate(self, metrics: dict[str, Any], runtime_configuration: dict[str, Any] | None = None,
                  execution_engine: ExecutionEngine[Any] | None = None) -> dict[str, Any]:
        return {"success": True, "result": {"observed_value": {
            "rows": metrics["table.row_count"], "columns": json.loads(metrics[PROFILE_METRIC] or "{}")}}}


def profile_expectations(df: DataFrame) -> list[ExpectTableProfileToBeRecorded]:
    """The observe-only profile expectation of ``df``'s profiled columns; one that cannot be computed is a
    WARN."""
    columns = [f.name for f in df.schema if profiled_type(f.dataType)]
    return [ExpectTableProfileToBeRecorded(column_list=columns, meta={"severity": "warning"})] if columns else []


def is_profile(config: ExpectationConfiguration) -> bool:
    return bool(config.type == PROFILE_EXPECTATION)


def sketch(df: DataFrame, rows: int, sample_rows: int) -> dict[str, dict[str, float | None]]:
    """``{column: {distinct_ratio, p50, p95}}`` of ``df`` (``rows`` rows), exact when ``rows`` <=
    ``sample_rows``, else over a uniform sample of about ``sample_rows``: one Spark job either way.

    The rows come to the driver as Arrow (a few MB) and are measured there exactly: a Spark aggregate of
    sketches would add a shuffle stage and run without code generation, for twice the time. The distinct
    ratio is the sample's (distinct values / sampled non-null values): equal sample sizes make runs
    comparable, which is what a baseline needs. Quantiles are values of the sample (the inverted CDF), as
    ``percentile_approx`` returns.
    """
    import numpy as np

    columns = [f for f in df.schema if profiled_type(f.dataType)]
    if not rows or not columns:
        return {}
    fraction = min(1.0, sample_rows / rows)
    sample = df.select(*[f.name for f in columns])
    sample = (sample.sample(fraction=fraction, seed=SAMPLE_SEED) if fraction < 1 else sample).toPandas()
    out = {}
    for f in columns:
        values = sample[f.name].dropna()
        measured = {"distinct_ratio": round(values.nunique() / len(values), 6) if len(values) else None}
        if numeric(f.dataType):
            quantiles = (np.quantile(values.to_numpy(dtype=float), PERCENTILES, method="inverted_cdf").tolist()
                         if len(values) else [None, None])
            measured.update(zip(("p50", "p95"), quantiles, strict=True))
        out[f.name] = measured
    return out
