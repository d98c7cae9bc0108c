"""GX's aggregate bundle sorted by what each metric computes, whatever batch it runs on."""

from types import SimpleNamespace

from lakehouse.quality.suites.adapter import bundle_key


def _computation(name: str, batch: str, column: str, **values):
    config = SimpleNamespace(metric_name=name, metric_domain_kwargs={"batch_id": batch, "column": column},
                             metric_value_kwargs=values)
    return SimpleNamespace(metric_configuration=config)


def test_the_same_metrics_sort_alike_on_any_batch_and_apart_by_domain_and_values():
    def order(batch: str, items):
        bundle = [_computation(name, batch, column, **values) for name, column, values in items]
        return [bundle_key(c) for c in sorted(bundle, key=bundle_key)]

    items = [("column_values.nonnull.unexpected_count", "username", {}),
             ("column_values.between.unexpected_count", "followers_count", {"min_value": 0}),
             ("column_values.between.unexpected_count", "followers_count", {"min_value": 1}),
             ("column_values.between.unexpected_count", "account_age_days", {"min_value": 0}),
             ("table.lakehouse_profile", None, {"column_list": ["username", "followers_count"]})]
    first = order("batch-1", items)
    assert first == order("batch-2", list(reversed(items)))  # a new batch id, another arrival order
    assert len(set(first)) == len(items)  # nothing collapses: domain and values tell metrics apart
    assert all("batch" not in key[1] for key in first)
