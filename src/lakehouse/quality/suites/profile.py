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
which Spark evaluates without whole-stage code generation: inside the suite's
aggregate they would slow every rule down several times. They run in one more
aggregate over a uniform sample of at most ``sample_rows`` rows
(:func:`sketch`), as Deequ's profiler samples for its sketches.
"""

from __future__ import annotations

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
PROFILE_FIELDS = ("non_null", "min", "max", "mean")
PERCENTILE_ACCURACY = 1000  # rank error 0.1 %; the sample's own error is larger


def numeric(dtype) -> bool:
    from pyspark.sql import types as T

    return isinstance(dtype, T.NumericType)


def profiled_type(dtype) -> bool:
    """Columns with a null rate and distinct ratio worth watching: atoms, not structs, maps, arrays or bytes."""
    from pyspark.sql import types as T

    return not isinstance(dtype, T.StructType | T.MapType | T.ArrayType | T.BinaryType)


class ColumnProfile(ColumnAggregateMetricProvider):
    """``{non_null, min, max, mean}`` of one column (min/max/mean for numerics only), as one struct."""

    metric_name = PROFILE_METRIC

    @column_aggregate_partial(engine=SparkDFExecutionEngine)
    def _spark(cls, column, _table, _column_name, **kwargs):
        from pyspark.sql import functions as F

        aggregates = [F.count(column)]
        if numeric(_table.schema[_column_name].dataType):
            value = column.cast("double")
            aggregates += [F.min(value), F.max(value), F.avg(value)]
        return F.struct(*[a.alias(name) for a, name in zip(aggregates, PROFILE_FIELDS, strict=False)])

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

    metric_dependencies = (PROFILE_METRIC, "table.row_count")
    success_keys = ()

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        values = metrics[PROFILE_METRIC] or []  # GX hands the struct over as a list, in PROFILE_FIELDS' order
        return {"success": True, "result": {"observed_value": {
            "rows": metrics["table.row_count"], **dict(zip(PROFILE_FIELDS, values, strict=False))}}}


def profile_expectations(df) -> list:
    """One observe-only expectation per profiled column of ``df``; one that cannot be computed is a WARN."""
    return [ExpectColumnProfileToBeRecorded(column=f.name, meta={"severity": "warning"})
            for f in df.schema if profiled_type(f.dataType)]


def is_profile(config) -> bool:
    return config.type == PROFILE_EXPECTATION


def sketch(df, rows: int, sample_rows: int) -> dict[str, dict[str, float | None]]:
    """``{column: {distinct_ratio, p50, p95}}`` over a uniform sample of about ``sample_rows`` of ``rows``.

    The distinct ratio is the sample's (distinct values / sampled non-null values): equal sample sizes
    make runs comparable, which is what a baseline needs. One Spark job.
    """
    from pyspark.sql import functions as F

    columns = [f for f in df.schema if profiled_type(f.dataType)]
    if not rows or not columns:
        return {}
    fraction = min(1.0, sample_rows / rows)
    sample = df.sample(fraction=fraction, seed=SAMPLE_SEED) if fraction < 1 else df
    aggregates = []
    for i, f in enumerate(columns):
        aggregates += [F.count(F.col(f.name)).alias(f"n{i}"), F.approx_count_distinct(f.name).alias(f"d{i}")]
        if numeric(f.dataType):
            aggregates.append(F.percentile_approx(F.col(f.name).cast("double"), list(PERCENTILES),
                                                  PERCENTILE_ACCURACY).alias(f"p{i}"))
    row = sample.agg(*aggregates).first()
    out = {}
    for i, f in enumerate(columns):
        seen = row[f"n{i}"]
        out[f.name] = {"distinct_ratio": round(min(1.0, row[f"d{i}"] / seen), 6) if seen else None}
        if numeric(f.dataType):
            p50, p95 = row[f"p{i}"] or (None, None)
            out[f.name].update(p50=p50, p95=p95)
    return out
