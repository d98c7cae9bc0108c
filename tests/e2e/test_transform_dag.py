"""kol_transform through real Airflow: four spark-submit jobs on a WAP branch, publish or keep main."""

import json
import shutil

import pytest

from lakehouse.core.names import TOPICS, run_branch
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
def transform_dag(load_dag):
    return load_dag("kol_transform")


@pytest.fixture
def bronze_loaded(settings, services, catalog):
    produce_records(generate(DatasetSpec(profiles=600, bad_fraction=0.02, seed=51)).all_records(), settings)
    for topic in TOPICS.values():
        ingest_topic(topic, settings, log=lambda *_: None)
    return settings


def _refs(settings, table):
    return dict(get_catalog(settings).load_table(table).refs())


def test_a_new_failing_suite_fails_the_audit_and_main_is_untouched(bronze_loaded, transform_dag, tmp_path,
                                                                   monkeypatch):
    from lakehouse.config import PROJECT_ROOT

    suites = tmp_path / "expectations"
    shutil.copytree(PROJECT_ROOT / "expectations", suites)
    strict = json.loads((suites / "gold" / "kol_summary.json").read_text())
    strict["expectations"].append({"type": "expect_column_values_to_be_between",
                                   "kwargs": {"column": "trending_score", "max_value": 50}, "meta": {}})
    (suites / "gold" / "kol_summary.json").write_text(json.dumps(strict))  # a data engineer's new rule
    monkeypatch.setenv("LAKEHOUSE_EXPECTATIONS_DIR", str(suites))
    run = transform_dag.test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert states["audit_branch"] == "failed" and states["publish_branch"] == "upstream_failed"
    assert states["publish_redis"] == "upstream_failed"  # readers keep what they had
    branch = run_branch(run.run_id)
    gold_refs = _refs(bronze_loaded, "gold.kol_summary")
    assert branch in gold_refs  # kept for inspection
    main = get_catalog(bronze_loaded).load_table("gold.kol_summary")
    assert main.scan().count() == 0  # main holds only the empty table the run created
    assert gold_refs["main"].snapshot_id != gold_refs[branch].snapshot_id
