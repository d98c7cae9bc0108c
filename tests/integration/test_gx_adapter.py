"""The one adjustment of Great Expectations (quality/suites/adapter.py) still does what the platform relies
on: GX resolves Spark aggregates through ``SparkDFExecutionEngine.resolve_metric_bundle(metric_fn_bundle)``,
and the lake's data source hands GX an engine that sorts each bundle by what its metrics compute.

If a GX upgrade breaks either, this fails, and the adapter needs a look before the pin moves."""

import inspect

import pytest

from lakehouse.quality.suites import SuiteRunner, discover, load_suite

pytestmark = pytest.mark.integration

TABLE = "silver.kol_profiles"


def test_gx_still_resolves_aggregates_through_the_method_the_adapter_overrides():
    from great_expectations.execution_engine import SparkDFExecutionEngine

    from lakehouse.quality.suites.adapter import SortedSparkEngine

    assert list(inspect.signature(SparkDFExecutionEngine.resolve_metric_bundle).parameters) == [
        "self", "metric_fn_bundle"]
    assert SortedSparkEngine.resolve_metric_bundle is not SparkDFExecutionEngine.resolve_metric_bundle


def test_every_bundle_gx_resolves_on_the_lake_source_arrives_sorted_and_alike_on_every_batch(
        spark_session, monkeypatch):
    from great_expectations.execution_engine import SparkDFExecutionEngine

    from lakehouse.quality.suites.adapter import SortedSparkEngine, bundle_key

    bundles: list[list[tuple[str, str, str]]] = []
    resolve = SparkDFExecutionEngine.resolve_metric_bundle

    def recording(self, metric_fn_bundle):
        bundles.append([bundle_key(c) for c in metric_fn_bundle])
        return resolve(self, metric_fn_bundle=metric_fn_bundle)

    monkeypatch.setattr(SparkDFExecutionEngine, "resolve_metric_bundle", recording)  # GX's own, below ours
    runner, suite = SuiteRunner(), load_suite(discover()[TABLE])
    assert isinstance(runner.source.get_execution_engine(), SortedSparkEngine)
    schema = ("kol_id string, platform string, username string, followers_count long, "
              "favorites_per_follower double, account_age_days int")
    runner.validate(spark_session.createDataFrame([("k1", "tiktok", "u1", 10, 0.5, 40)], schema), TABLE, suite,
                    layer="silver")
    first = list(bundles)
    bundles.clear()
    runner.validate(spark_session.createDataFrame([("k2", "youtube", "u2", 20, 0.1, 50)], schema), TABLE, suite,
                    layer="silver")  # another batch (and batch id), the same metrics
    assert first, "GX resolved no aggregate bundle through resolve_metric_bundle"
    assert all(b == sorted(b) for b in first), "a bundle reached GX unsorted"
    assert bundles == first
