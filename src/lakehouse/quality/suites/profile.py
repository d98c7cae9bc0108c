"""Column metrics computed inside a suite's own validation pass (no extra scan of the table).

GX bundles the aggregate partials of one compute domain that become ready in
the same round into one ``DataFrame.agg``: the suite's unexpected counts are
one Spark job. :class:`ColumnProfile` is such a partial (non-null count, and
min/max/mean for numerics), and it waits on the same map condition the
unexpected counts wait on, so it joins their job instead of starting one.
:class:`ExpectColumnProfileToBeRecorded` only observes (it never fails); the
runner appends one per profiled column at run time and takes its observed
values out of the results before they become checks.

Distinct ratio and p50/p95 need sketches (HyperLogLog, percentile summaries),
which Spark evaluates without whole-stage code generation. On a batch of at
most ``sample_rows`` rows (an increment, a small table) that costs nothing and
they ride in the same aggregate. On a larger one they would slow every rule of
the suite's aggregate several times, so they run in one more aggregate over a
uniform sample of about ``sample_rows`` rows (:func:`sketch`), as Deequ's
profiler samples for its sketches.
"""

from __future__ import annotations

import json

from great_expectations.execution_engine import SparkDFExecutionEngine
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_partial
from great_expectations.validator.metric_configuration import MetricConfiguration

PROFILE_METRIC = "column.lakehouse_profile"
PROFILE_EXPECTATION = "expect_column_profile_to_be_recorded"
# GX resolves metrics in rounds; the unexpected counts' aggregate waits on each rule's map condition
BUNDLE_WITH = "column_values.nonnull.condition"
SAMPLE_SEED = 7
PERCENTILES = (0.5, 0.95)
PERCENTILE_ACCURACY = 1000  # rank error 0.1 %; the sample's own error is larger


def numeric(dtype) -> bool:
    from pyspark.sql import types as T

    return isinstance(dtype, T.NumericType)


def profiled_type(dtype) -> bool:
    """Columns with a null rate and distinct ratio worth watching: atoms, not structs, maps, arrays or bytes."""
    from pyspark.sql import types as T

    return not isinstance(dtype, T.StructType | T.MapType | T.ArrayType | T.BinaryType)


def sketches(column, numeric_column: bool) -> list:
    """``distinct`` (HyperLogLog) and ``pct`` (p50, p95) of ``column``: aggregates without code generation."""
    from pyspark.sql import functions as F

    out = [F.approx_count_distinct(column).alias("distinct")]
    if numeric_column:
        out.append(F.percentile_approx(column.cast("double"), list(PERCENTILES), PERCENTILE_ACCURACY).alias("pct"))
    return out


class ColumnProfile(ColumnAggregateMetricProvider):
    """``{non_null, min, max, mean}`` of one column (min/max/mean for numerics only), as one JSON struct; with
    the sketches too when the batch is no larger than ``sample_rows`` (GX has counted its rows by then): on so
    few rows the sketches' lost code generation costs nothing, and they need no job of their own."""

    metric_name = PROFILE_METRIC
    value_keys = ("sample_rows",)

    @column_aggregate_partial(engine=SparkDFExecutionEngine)
    def _spark(cls, column, _table, _column_name, _metrics, sample_rows: int = 0, **kwargs):
        from pyspark.sql import functions as F

        is_numeric = numeric(_table.schema[_column_name].dataType)
        aggregates = [F.count(column).alias("non_null")]
        if is_numeric:
            value = column.cast("double")
            aggregates += [F.min(value).alias("min"), F.max(value).alias("max"), F.avg(value).alias("mean")]
        if sample_rows and _metrics.get("table.row_count", sample_rows + 1) <= sample_rows:
            aggregates += sketches(column, is_numeric)
        return F.to_json(F.struct(*aggregates))

    @classmethod
    def _get_evaluation_dependencies(cls, metric, configuration=None, execution_engine=None,
                                     runtime_configuration=None):
        dependencies = super()._get_evaluation_dependencies(
            metric=metric, configuration=configuration, execution_engine=execution_engine,
            runtime_configuration=runtime_configuration)
        if metric.metric_name.endswith(".aggregate_fn"):  # ready in the unexpected counts' round: one job
            dependencies["bundle_with"] = MetricConfiguration(BUNDLE_WITH, metric.metric_domain_kwargs, {})
        return dependencies


class ExpectColumnProfileToBeRecorded(ColumnAggregateExpectation):
    """Observe-only: records the column's profile and the batch's rows; always succeeds."""

    sample_rows: int = 0
    metric_dependencies = (PROFILE_METRIC, "table.row_count")
    success_keys = ("sample_rows",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        return {"success": True, "result": {"observed_value": {
            "rows": metrics["table.row_count"], **json.loads(metrics[PROFILE_METRIC] or "{}")}}}


def profile_expectations(df, sample_rows: int) -> list:
    """One observe-only expectation per profiled column of ``df``; one that cannot be computed is a WARN."""
    return [ExpectColumnProfileToBeRecorded(column=f.name, sample_rows=sample_rows, meta={"severity": "warning"})
            for f in df.schema if profiled_type(f.dataType)]


def sketched(observed: dict) -> dict[str, float | None]:
    """``{distinct_ratio, p50, p95}`` from a profile that carries its sketches (``{}`` if it does not)."""
    if "distinct" not in observed:
        return {}
    out = {"distinct_ratio": round(min(1.0, observed["distinct"] / observed["non_null"]), 6)
           if observed["non_null"] else None}
    if "pct" in observed:
        out["p50"], out["p95"] = observed["pct"] or (None, None)
    return out


def is_profile(config) -> bool:
    return config.type == PROFILE_EXPECTATION


def sketch(df, rows: int, sample_rows: int) -> dict[str, dict[str, float | None]]:
    """``{column: {distinct_ratio, p50, p95}}`` over a uniform sample of about ``sample_rows`` of ``rows``:
    one more Spark job, for batches larger than the sample.

    The distinct ratio is the sample's (distinct values / sampled non-null values): equal sample sizes
    make runs comparable, which is what a baseline needs.
    """
    from pyspark.sql import functions as F

    columns = [f for f in df.schema if profiled_type(f.dataType)]
    if not rows or not columns:
        return {}
    fraction = min(1.0, sample_rows / rows)
    sample = df.sample(fraction=fraction, seed=SAMPLE_SEED) if fraction < 1 else df
    row = sample.agg(*[F.to_json(F.struct(F.count(f.name).alias("non_null"),
                                          *sketches(F.col(f.name), numeric(f.dataType)))).alias(f.name)
                       for f in columns]).first()
    return {f.name: sketched(json.loads(row[f.name])) for f in columns}
