"""What the nightly decides before it judges anything: has the lake ever published, are the contracts valid."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse.core.checks import Status
from lakehouse.core.entities import WAP_TABLES
from lakehouse.core.names import FIRST_PUBLISHED, FIRST_PUBLISHED_NAMESPACE
from lakehouse.iceberg.catalog import ensure_table, first_publish, mark_first_publish
from lakehouse.orchestration.tasks.checks import lake_published

pytestmark = pytest.mark.integration


def test_a_fresh_lake_has_not_published_and_the_first_mark_stays(catalog, settings, capsys):
    assert first_publish(catalog, WAP_TABLES) is None
    assert lake_published(settings) is False
    assert "nothing published yet" in capsys.readouterr().out

    mark_first_publish(catalog, "audit_run_1 at 2026-01-01T00:00:00+00:00")
    mark_first_publish(catalog, "audit_run_2 at 2026-01-02T00:00:00+00:00")  # later publishes keep the first
    assert first_publish(catalog, WAP_TABLES) == "audit_run_1 at 2026-01-01T00:00:00+00:00"
    assert lake_published(settings) is True


def test_a_lake_that_published_before_the_mark_existed_is_recognised_by_its_main(catalog):
    schema = pa.schema([pa.field("kol_id", pa.string())])
    table = ensure_table(catalog, "gold.kol_summary", schema)
    assert first_publish(catalog, WAP_TABLES) is None  # the table exists, but main has no snapshot
    table.append(pa.Table.from_pylist([{"kol_id": "k1"}], schema=schema))
    assert first_publish(catalog, WAP_TABLES) == "gold.kol_summary has a main snapshot"
    assert FIRST_PUBLISHED not in catalog.load_namespace_properties(FIRST_PUBLISHED_NAMESPACE)


def test_a_broken_contract_fails_the_nightly_naming_the_file_and_its_rule(catalog, settings, tmp_path):
    import json
    import shutil

    from lakehouse.core.contracts import contracts_dir
    from lakehouse.quality.store import run_results
    from lakehouse.quality.table_checks import table_checks

    broken = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), broken)
    (broken / "kol-comments-raw.json").write_text(json.dumps({"topic": "kol-comments-raw"}))
    [check] = table_checks(dag_id="kol_quality_nightly", run_id="r1", settings=settings.replace(contracts_dir=broken))
    assert (check.check_id, check.status) == ("contracts.valid", Status.FAIL)
    assert "kol-comments-raw.json" in check.details and "needs topic, entity" in check.details
    assert [c.check_id for c in run_results(settings, "kol_quality_nightly", "r1")] == ["contracts.valid"]
