"""The one place the platform adjusts Great Expectations: its Spark aggregates in a stable order.

What GX's public API cannot do, and why the platform needs it: GX gathers the
aggregate partials ready in a round from a collection keyed by metric ids, and
those ids hash the batch id, which is new for every validation. So the same
suite's aggregate lists its columns in a different order on every run, Spark
generates different code for it, and its codegen cache (keyed by the code)
never hits: every validation compiles the suite's aggregate anew. On a profiled
table that is ~100 KB of generated Java, several compiles of 0.1-0.2 s each per
validation (``make bench quality``). Sorted by what the metric is (name, domain
without the batch, value kwargs), one suite yields the same code every run and
Spark reuses the class it compiled.

How, without patching GX: a Spark data source type of our own
(:class:`LakeSparkDatasource`, registered by GX's fluent data source registry
when this module is imported) whose execution engine
(:class:`SortedSparkEngine`) sorts the bundle before GX's own
``resolve_metric_bundle`` resolves it. Results are keyed by metric id, so the
order changes nothing else. ``tests/integration/test_gx_adapter.py`` fails
loudly when a GX upgrade stops routing aggregates through that method or
renames its argument.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from great_expectations.datasource.fluent.spark_datasource import SparkDatasource
from great_expectations.execution_engine.sparkdf_execution_engine import SparkDFExecutionEngine

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

LAKE_SOURCE = "lake"


def bundle_key(computation: Any) -> tuple[str, str, str]:  # Any: GX's MetricComputationConfiguration
    """What a bundled metric computes, without the batch it computes it on."""
    metric = computation.metric_configuration
    domain = {k: v for k, v in metric.metric_domain_kwargs.items() if k != "batch_id"}
    return (metric.metric_name, json.dumps(domain, sort_keys=True, default=str),
            json.dumps(dict(metric.metric_value_kwargs), sort_keys=True, default=str))


class SortedSparkEngine(SparkDFExecutionEngine):
    """GX's Spark engine, resolving each aggregate bundle in :func:`bundle_key` order."""

    def resolve_metric_bundle(self, metric_fn_bundle: Iterable[Any]) -> dict[Any, Any]:
        return super().resolve_metric_bundle(metric_fn_bundle=sorted(metric_fn_bundle, key=bundle_key))


class LakeSparkDatasource(SparkDatasource):
    """GX's Spark data source with :class:`SortedSparkEngine`; ``context.data_sources.add_or_update_lakehouse_spark``."""

    # GX's registry keys a data source class by this literal: a subclass names its own
    type: Literal["lakehouse_spark"] = "lakehouse_spark"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> builtins.type[SparkDFExecutionEngine]:
        return SortedSparkEngine


def lake_source(context: AbstractDataContext) -> LakeSparkDatasource:
    """The context's Spark source for lake DataFrames.

    ``persist=False``: GX would cache the whole batch first; each metric's own pruned Parquet scan is
    cheaper, and nothing stale stays cached in a long-lived session.
    """
    # GX generates add_or_update_<type> for each registered data source type: the checker sees Any
    return context.data_sources.add_or_update_lakehouse_spark(  # type: ignore[no-any-return]
        name=LAKE_SOURCE, persist=False)


def store_suite(context: AbstractDataContext, suite: ExpectationSuite) -> ExpectationSuite:
    """``suite`` as the context's stored copy, which validations and Data Docs refer to.

    GX reads the stored copy before replacing it. One an earlier version of this code wrote may no longer
    read (a custom expectation's fields changed), and the copy is only that: the suite file and the runner
    make it anew each run. GX's public ``suites.delete`` reads the copy first too, so it cannot remove one
    that no longer reads: the unreadable copy's key is removed through the expectations store, as GX's own
    ``suites.all()`` passes over such copies, rather than failing every audit after an upgrade.
    """
    from great_expectations.compatibility.pydantic import ValidationError

    try:
        return context.suites.add_or_update(suite)
    except ValidationError:
        store = context.expectations_store
        store.remove_key(store.get_key(name=suite.name, id=None))  # type: ignore[no-untyped-call]  # GX's Store
        return context.suites.add(suite)
