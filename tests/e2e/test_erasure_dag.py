"""kol_erasure through real Airflow (`dag.test()`, the lease, spark-submit of `spark_jobs/erase_subjects.py`, the
report and the gate): a subject erased with its proof recorded under the run and shown in the report; a bad
request is refused by the Params before anything runs."""

import json

import pytest
from airflow.sdk.exceptions import ParamValidationError

from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.transform import build_gold, build_silver
from lakehouse.quality.store import run_results

pytestmark = pytest.mark.e2e


def test_the_erasure_dag_erases_proves_reports_and_refuses_a_bad_request(lake, lake_services, load_dag,
                                                                        spark_session):
    dataset = generate(DatasetSpec(profiles=60, seed=12))
    produce_records(dataset.all_records(), lake)
    for topic in TOPICS.values():
        ingest_topic(topic, lake, log=lambda *_: None)
    build_silver(spark_session, run_id="built")
    build_gold(spark_session, run_id="built")
    kol = json.loads(next(r.value for r in dataset.records["profiles"] if r.fault is None))
    dag = load_dag("kol_erasure")

    run = dag.test(run_conf={"subjects": [f"{kol['platform']}:{kol['kol_id']}"], "request_id": "DSR-42",
                             "reason": "GDPR Art. 17"})
    report = json.loads((lake.reports_dir / "kol_erasure" / "latest.json").read_text())
    assert run.state == "success", [(c["check_id"], c["status"]) for c in report["checks"] if c["status"] != "PASS"]
    checks = {c.check_id: c for c in run_results(lake, "kol_erasure", run.run_id)}
    assert checks["erasure.rows.silver.kol_profiles"].status.value == "PASS"
    assert checks["erasure.purge.bronze.kol_profiles_raw"].observed["rows"] >= 1
    assert not [c.line() for c in checks.values() if c.status.value == "FAIL"]
    assert report["run_id"] == run.run_id and report["gate"]["passed"]
    assert kol["kol_id"] not in json.dumps(report)  # the proof never names the subject
    assert spark_session.table("lake.silver.kol_profiles").where(f"kol_id = '{kol['kol_id']}'").count() == 0

    # the form refuses what no request may be (Airflow validates the Params before any task runs)
    with pytest.raises(ParamValidationError, match="subjects"):
        dag.test(run_conf={"subjects": ["vimeo:abc"], "request_id": "DSR-43", "reason": "x"})
