"""Right to erasure on real Spark, Iceberg, Redis and the broker: rows, history, files and the hot path, proved;
the accounting still exact; erased subjects never come back."""

import json
import os
import subprocess

import pyarrow as pa
import pytest
from conftest import kill_at_phase

from lakehouse.core.checks import Status
from lakehouse.core.erasure import ErasureRequestError
from lakehouse.core.names import (
    BRONZE_TABLES,
    CHECK_RESULTS_TABLE,
    GOLD_SUMMARY_TABLE,
    LABELS_TABLE,
    MAIN,
    QUARANTINE_TABLE,
    TOPICS,
)
from lakehouse.datagen import DatasetSpec, Record, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.etl import wap
from lakehouse.etl.erasure import PURGED_TABLES, ErasureBlockedError, check_settled
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.ledger import recorded_request
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.erasure import erase_subjects
from lakehouse.jobs.nightly import nightly_lake_checks
from lakehouse.jobs.transform import audit_branch, build_gold, build_silver
from lakehouse.ml.labels import write_labels
from lakehouse.quality.counts import check_layer_counts, layer_counts
from lakehouse.quality.reconcile import reconcile
from lakehouse.quality.report import build_report, write_report
from lakehouse.quality.store import record
from lakehouse.quality.table_checks import table_checks
from lakehouse.serving.redis_publish import publish_gold, redis_client
from lakehouse.spark.launch import submission

pytestmark = pytest.mark.integration
quiet = {"log": lambda *_: None}


def _ingest(settings) -> dict[str, int]:
    return {topic: ingest_topic(topic, settings, **quiet).erased for topic in TOPICS.values()}


def _transform(spark, branch: str, publish: bool = True, audit: bool = False) -> None:
    build_silver(spark, run_id=branch, branch=branch)
    build_gold(spark, run_id=branch, branch=branch)
    if audit:
        audit_branch(spark, branch=branch, run_id=branch)
    if publish:
        wap.publish(branch)


def _docs(dataset, entity: str, kol_ids: set[str]) -> list[dict]:
    docs = []
    for r in dataset.records[entity]:
        try:
            doc = json.loads(r.value)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("kol_id") in kol_ids:
            docs.append(doc)
    return docs


def _rows(spark, table: str, kol_ids: set[str]) -> int:
    return spark.table(f"lake.{table}").where(f"kol_id IN ({', '.join(repr(k) for k in sorted(kol_ids))})").count()


@pytest.fixture
def erasure_lake(lake, lake_services, spark_session):
    """A published lake of 500 KOLs with labels, Redis, a failed audit's branch and a tag; three subjects:
    A (videos, comments), B (also in quarantine), C (whose comments sit under another KOL's video too)."""
    spark = spark_session
    dataset = generate(DatasetSpec(profiles=500, bad_fraction=0.01, seed=35))
    profiles = [json.loads(r.value) for r in dataset.records["profiles"] if r.fault is None]
    with_videos = {d["kol_id"] for d in _docs(dataset, "comments", {p["kol_id"] for p in profiles})}
    chosen = [p for p in profiles if p["kol_id"] in with_videos and p["favorites_count"] < 100 * p["followers_count"]][:4]
    a, b, c, other = chosen
    extra = [Record(TOPICS["profiles"], b"b", json.dumps({**b, "followers_count": -3}).encode()),  # B quarantined
             Record(TOPICS["comments"], b"c", json.dumps({  # a comment under another KOL's video: it stays
                 "comment_id": f"{other['kol_id']}_v000_c900", "video_id": f"{other['kol_id']}_v000",
                 "kol_id": other["kol_id"], "platform": other["platform"], "text": "nice", "likes": 1}).encode())]
    produce_records([*dataset.all_records(), *extra], lake)
    _ingest(lake)
    write_labels(lake, dataset.labels)
    _transform(spark, "first")
    spark.sql("ALTER TABLE lake.silver.kol_profiles CREATE TAG `month_end`")
    produce_records([Record(TOPICS["profiles"], b"a", json.dumps({**a, "followers_count": a["followers_count"] + 7}).encode())], lake)
    _ingest(lake)
    _transform(spark, "failed_audit", publish=False)  # its branch stays, holding A's update
    _transform(spark, "second")
    publish_gold(lake)
    return {"dataset": dataset, "subjects": [a, b, c], "other": other}


def test_erasure_removes_subjects_everywhere_proves_it_and_keeps_the_books(erasure_lake, lake, spark_session):
    spark = spark_session
    a, b, c = erasure_lake["subjects"]
    ids = {s["kol_id"] for s in (a, b, c)}
    other = erasure_lake["other"]["kol_id"]
    record(lake, dag_id="kol_quality_nightly", run_id="before", source="lake_checks", results=[])  # a text table
    report = build_report(dag_id="kol_transform", run_id="offending", counts={}, timings={}, checks=[])
    report["note"] = f"offending rows: {a['kol_id']} {a['username']} {c['kol_id']}_v000"
    write_report(report, lake.reports_dir)
    before = layer_counts(lake)
    other_comments = _rows(spark, "silver.kol_comments", {other})
    assert _rows(spark, "silver.kol_profiles", {b["kol_id"]}) == 1
    assert spark.table("lake.silver.quarantine").where(f"CAST(payload AS STRING) LIKE '%{b['kol_id']}%'").count()

    params = {"subjects": [f"{s['platform']}:{s['kol_id']}" for s in (a, b, c)], "request_id": "GDPR-0001",
              "reason": "GDPR Art. 17"}
    result = erase_subjects(spark, dag_id="kol_erasure", run_id="r1", params=params)

    checks = {c["check_id"]: c for c in result["checks"]}
    assert not [c for c in checks.values() if c["status"] == "FAIL"], checks
    for place in ("erasure.files.parquet", "erasure.files.state_dir", "erasure.redis", "erasure.ledger",
                  *(f"erasure.history.{t}" for t in (*BRONZE_TABLES.values(), QUARANTINE_TABLE, GOLD_SUMMARY_TABLE,
                                                     LABELS_TABLE, CHECK_RESULTS_TABLE))):
        assert checks[place]["status"] == "PASS", place
    assert checks["erasure.files.state_dir"]["observed"] == 0
    assert checks["erasure.redact.state_dir"]["observed"] >= 3  # the report named A twice and a video of C
    assert result["rows"][QUARANTINE_TABLE] >= 1 and result["rows"]["silver.kol_videos"] > 0
    for table in ("silver.kol_profiles", "silver.kol_videos", "silver.kol_comments", GOLD_SUMMARY_TABLE, LABELS_TABLE):
        assert _rows(spark, table, ids) == 0, table
    assert _rows(spark, "silver.kol_comments", {other}) == other_comments  # not C's own rows: they stay
    catalog = get_catalog(lake)
    for table in PURGED_TABLES:
        meta = catalog.load_table(table)
        kept = [s for s in meta.snapshots() if s.summary.get("airflow.run_id") != "r1" or table != CHECK_RESULTS_TABLE]
        assert set(meta.refs()) == {MAIN} and len(kept) == 1, table  # check_results: + the proof's own rows

    after = layer_counts(lake)
    assert after["bronze"] == before["bronze"]  # offsets kept: every record still accounted for
    erased = {e: after["erased"][e] for e in after["erased"]}
    assert erased["profiles"] >= 4 and erased["videos"] > 0 and erased["comments"] > 0
    for name in after["bronze"]:
        assert (after["silver"][name] + after["duplicates"][name] + after["quarantine"][name] + erased[name]
                == after["bronze"][name])
    assert all(r.status is Status.PASS for r in check_layer_counts(lake)), check_layer_counts(lake)
    for topic, table in BRONZE_TABLES.items():
        reconcile(catalog.load_table(table), topic)
    nightly = nightly_lake_checks(spark, dag_id="kol_quality_nightly", run_id="after-erasure")
    assert nightly["checks"] > 50 and nightly["failed"] == [], nightly
    tables = table_checks(dag_id="kol_quality_nightly", run_id="after-erasure")  # with Redis vs Gold
    assert not [r.line() for r in tables if r.status is Status.FAIL]
    client = redis_client(lake)
    assert not [k for k in client.scan_iter() if any(i.encode() in k for i in ids)]
    text = (lake.reports_dir / "kol_transform" / "offending.json").read_text()
    assert a["kol_id"] not in text and "[erased]" in text and json.loads(text)["run_id"] == "offending"

    again = erase_subjects(spark, dag_id="kol_erasure", run_id="r2", params=params)
    assert again["already_erased"] and not [c for c in again["checks"] if c["status"] == "FAIL"]
    unchanged = [t for t in PURGED_TABLES if t != CHECK_RESULTS_TABLE]  # a re-run changes nothing but its proof
    assert {t: len(catalog.load_table(t).snapshots()) for t in unchanged} == dict.fromkeys(unchanged, 1)

    refused = _ingest_again(erasure_lake["dataset"], lake, ids)
    assert sum(refused.values()) > 0
    _transform(spark, "third", audit=True)  # the audit of the first increment after the erasure passes
    for table in ("silver.kol_profiles", "silver.kol_videos", "silver.kol_comments", GOLD_SUMMARY_TABLE):
        assert _rows(spark, table, ids) == 0, table
    final = layer_counts(lake)
    for name in final["bronze"]:
        assert final["erased"][name] == erased[name] + refused[TOPICS[name]]
    assert all(r.status is Status.PASS for r in check_layer_counts(lake))
    proved = erase_subjects(spark, dag_id="kol_erasure", run_id="r3", params=params)
    assert not [c for c in proved["checks"] if c["status"] == "FAIL"]


def _ingest_again(dataset, settings, ids: set[str]) -> dict[str, int]:
    """The subjects' records produced again (a replayed topic): ingestion blanks every one of them."""
    again = [r for entity in ("profiles", "videos", "comments") for r in dataset.records[entity]
             if r.fault is None and json.loads(r.value).get("kol_id") in ids]
    produce_records(again, settings)
    refused = _ingest(settings)
    assert sum(refused.values()) == len(again)
    return refused


def test_a_bad_request_touches_nothing_and_an_unknown_subject_gets_a_proof(lake, lake_services, spark_session):
    spark = spark_session
    for params, message in (({"subjects": [], "request_id": "R1", "reason": "x"}, "no subjects"),
                            ({"subjects": ["tiktok:a", "tiktok:a"], "request_id": "R1", "reason": "x"}, "twice"),
                            ({"subjects": ["tiktok"], "request_id": "R1", "reason": "x"}, "malformed"),
                            ({"subjects": ["tiktok:a"], "request_id": "bad id", "reason": "x"}, "request id")):
        with pytest.raises(ErasureRequestError, match=message):
            erase_subjects(spark, params=params)
    assert get_catalog(lake).table_exists("audit.erasure_ledger") is False
    result = erase_subjects(spark, dag_id="kol_erasure", run_id="u", params={
        "subjects": ["youtube:nobody_here"], "request_id": "R2", "reason": "GDPR Art. 17"})
    assert sum(result["rows"].values()) == 0 and not [c for c in result["checks"] if c["status"] == "FAIL"]
    assert {c["check_id"] for c in result["checks"]} >= {"erasure.ledger", "erasure.redis", "erasure.files.parquet"}


def test_an_unsettled_lake_is_refused_before_anything_is_touched(lake, spark_session):
    """Bronze committed after the snapshot Silver recorded as its upstream: an increment waits for kol_transform,
    and the purge would expire the snapshots it reads. An erasure's own commits do not count."""
    from bench.etl import load_bronze
    from lakehouse.core.names import ERASURE_REQUEST, LINEAGE_UPSTREAM

    dataset = generate(DatasetSpec(profiles=20, seed=3))
    load_bronze(lake, dataset)
    catalog = get_catalog(lake)
    bronze = catalog.load_table(BRONZE_TABLES[TOPICS["profiles"]])
    kol = json.loads(next(r.value for r in dataset.records["profiles"] if r.fault is None))
    silver = catalog.create_table("silver.kol_profiles", pa.schema([(c, pa.string()) for c in (
        "platform", "kol_id", "username", "display_name")]))
    silver.append(pa.Table.from_pylist([{"platform": kol["platform"], "kol_id": kol["kol_id"]}],
                                       schema=silver.schema().as_arrow()),
                  snapshot_properties={LINEAGE_UPSTREAM: json.dumps({BRONZE_TABLES[TOPICS["profiles"]]:
                                                                     bronze.current_snapshot().snapshot_id})})
    params = {"subjects": [f"{kol['platform']}:{kol['kol_id']}"], "request_id": "R3", "reason": "GDPR Art. 17"}
    bronze.append(pa.Table.from_pylist([], schema=bronze.schema().as_arrow()), snapshot_properties={
        ERASURE_REQUEST: "earlier"})  # an erasure's bookkeeping commit: read by nobody, waits for nobody
    check_settled(catalog)  # settled: nothing raised
    load_bronze(lake, generate(DatasetSpec(profiles=2, seed=4)))  # Bronze moved on; Silver has not read it
    with pytest.raises(ErasureBlockedError, match="run kol_transform first"):
        erase_subjects(spark_session, params=params)
    assert recorded_request(lake, "R3") is None  # refused before the ledger, before anything


def test_an_erasure_killed_mid_rewrite_leaves_valid_tables_and_a_rerun_completes(lake, lake_services,
                                                                                spark_session):
    spark = spark_session
    dataset = generate(DatasetSpec(profiles=300, seed=8))
    produce_records(dataset.all_records(), lake)
    _ingest(lake)
    _transform(spark, "first")
    owners = {json.loads(r.value)["kol_id"] for r in dataset.records["videos"] if r.fault is None}
    kol = next(json.loads(r.value) for r in dataset.records["profiles"]
               if r.fault is None and json.loads(r.value)["kol_id"] in owners)
    params = {"subjects": [f"{kol['platform']}:{kol['kol_id']}"], "request_id": "KILLED-1", "reason": "GDPR Art. 17"}
    launch = submission(lake, "erase_subjects")
    args = ["--dag-id", "kol_erasure", "--run-id", "killed", "--branch", "main", "--params", json.dumps(params)]
    job = subprocess.Popen(launch.command(lake.spark_master, args), env={**os.environ, **launch.env},
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        kill_at_phase(job, "erasure.rewrite.silver.kol_videos")  # Bronze and Silver profiles done, not the rest
    finally:
        job.wait()
    assert _rows(spark, "silver.kol_profiles", {kol["kol_id"]}) == 0  # it was killed mid-way ...
    catalog = get_catalog(lake)
    for table in [t for t in PURGED_TABLES if catalog.table_exists(t)]:  # ... and every table still reads
        spark.table(f"lake.{table}").count()

    result = erase_subjects(spark, dag_id="kol_erasure", run_id="killed", params=params)  # the task's retry
    assert not result["already_erased"] and not [c for c in result["checks"] if c["status"] == "FAIL"]
    assert _rows(spark, "silver.kol_videos", {kol["kol_id"]}) == 0
    assert all(r.status is Status.PASS for r in check_layer_counts(lake)), check_layer_counts(lake)
    counts = layer_counts(lake)
    assert counts["erased"]["profiles"] >= 1 and counts["erased"]["videos"] >= 1
    for table in ("silver.kol_profiles", "silver.kol_videos"):  # upserts write delete files again
        modes = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES lake.{table}").collect()}
        assert modes["write.delete.mode"] == modes["write.update.mode"] == "merge-on-read", table
