"""Bronze -> Silver -> Gold on real Spark and Iceberg, from data that went through a real broker."""

import json

import pytest

from lakehouse.core.checks import Status
from lakehouse.core.names import LINEAGE_UPSTREAM, TOPICS
from lakehouse.core.scoring import WEIGHTS
from lakehouse.datagen import FAULT_REASONS, DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.jobs.transform import build_gold, build_silver
from lakehouse.quality.counts import check_layer_counts

pytestmark = pytest.mark.integration


@pytest.fixture
def loaded_lake(lake, lake_services):
    dataset = generate(DatasetSpec(profiles=600, bad_fraction=0.05, seed=11))
    produce_records(dataset.all_records(), lake)
    for topic in TOPICS.values():
        ingest_topic(topic, lake, run_id="ingest-1", log=lambda *_: None)
    return dataset


def test_every_bronze_row_is_accounted_for_and_faults_get_their_reason(lake, loaded_lake, spark_session):
    spark = spark_session
    stats = {s["entity"]: s for s in build_silver(spark, dag_id="t", run_id="run-1")["entities"]}
    for entity, s in stats.items():
        faults = loaded_lake.faults(entity)
        assert s["bronze_rows"] == len(loaded_lake.records[entity])
        assert s["bronze_rows"] == s["upserted"] + s["duplicates"] + s["quarantined"]
        assert s["duplicates"] == faults["duplicate"]
        assert s["quarantined"] == sum(n for kind, n in faults.items() if FAULT_REASONS[kind])
    reasons = {r["reason"]: r["n"] for r in spark.sql(
        "SELECT reason, count(*) n FROM lake.silver.quarantine "
        "WHERE source_table = 'bronze.kol_profiles_raw' GROUP BY reason").collect()}
    expected = {}
    for kind, n in loaded_lake.faults("profiles").items():
        if FAULT_REASONS[kind]:
            expected[FAULT_REASONS[kind]] = expected.get(FAULT_REASONS[kind], 0) + n
    assert reasons == expected
    names = [r.username for r in spark.table("lake.silver.kol_profiles").select("username").collect()]
    assert all(n == n.strip().lower() for n in names)

    # A re-run over the same Bronze changes nothing.
    build_silver(spark, dag_id="t", run_id="run-2")
    assert spark.table("lake.silver.kol_profiles").count() == stats["profiles"]["upserted"]
    assert spark.table("lake.silver.quarantine").count() == sum(s["quarantined"] for s in stats.values())


def test_gold_has_one_row_per_kol_with_bounded_scores_and_lineage(lake, loaded_lake, spark_session):
    spark = spark_session
    build_silver(spark, dag_id="t", run_id="run-1")
    result = build_gold(spark, dag_id="t", run_id="run-1")
    rows = spark.table("lake.gold.kol_summary").collect()
    assert len(rows) == result["rows"] == result["silver_kols"]
    assert len({(r.platform, r.kol_id) for r in rows}) == len(rows)
    trending = [r.trending_score for r in rows if r.trending_reason is None]  # KOLs with a recent video
    assert all(0 < t <= 100 for t in trending)
    assert len(set(trending)) / len(trending) >= 0.8 and max(trending) - min(trending) > 10
    assert all(r.trending_score == 0.0 for r in rows if r.trending_reason == "no_recent_videos")
    for r in rows:  # trust is null until the model exists: renormalized weights
        expected = (WEIGHTS["trending"] * r.trending_score + WEIGHTS["success"] * r.success_score) / 0.75
        assert r.trust_score is None and abs(r.final_score - expected) < 1e-4
    snap = get_catalog(lake).load_table("gold.kol_summary").current_snapshot()
    upstream = json.loads(snap.summary.additional_properties[LINEAGE_UPSTREAM])
    silver_now = get_catalog(lake).load_table("silver.kol_profiles").current_snapshot().snapshot_id
    assert upstream["silver.kol_profiles"] == silver_now
    assert snap.summary.additional_properties["airflow.run_id"] == "run-1"

    checks = check_layer_counts(lake, produced=loaded_lake.counts(), run_id="ingest-1")
    assert [c for c in checks if c.status != Status.PASS] == []


def test_layer_count_check_fails_when_a_layer_loses_rows(lake, loaded_lake, spark_session):
    spark = spark_session
    build_silver(spark, dag_id="t", run_id="run-1")
    build_gold(spark, dag_id="t", run_id="run-1")
    spark.sql("DELETE FROM lake.silver.kol_profiles WHERE kol_id LIKE '%1'")  # a silent loss
    failed = {c.check_id for c in check_layer_counts(lake) if c.status == Status.FAIL}
    assert {"accounting.profiles", "gold_vs_silver_kols"} <= failed


def test_silver_orders_versions_by_the_log_not_the_producer_clock(lake, lake_services, spark_session):
    """A wrong future CreateTime cannot freeze a key; an absurd one is quarantined; Bronze accounting holds."""
    from lakehouse import kafka

    def profile(followers):
        return json.dumps({"kol_id": "k1", "platform": "tiktok", "username": "u1", "followers_count": followers})

    now_ms = int(__import__("time").time() * 1000)
    client = kafka.producer(lake)
    sent = [(profile(1), now_ms + 20 * 3600 * 1000),  # plausible but wrong: 20 h ahead
            (profile(2), now_ms),  # the newer version, later in the log
            (profile(3), 9_300_000_000_000_000)]  # unrepresentable: quarantined, never blocks
    for value, ms in sent:
        client.produce(TOPICS["profiles"], key=b"tiktok:k1", value=value.encode(), timestamp=ms, partition=0)
    assert client.flush(30) == 0
    ingest_topic(TOPICS["profiles"], lake, log=lambda *_: None)
    stats = build_silver(spark_session, dag_id="t", run_id="clock")["entities"][0]
    assert (stats["bronze_rows"], stats["upserted"], stats["quarantined"]) == (3, 1, 1)
    row = spark_session.table("lake.silver.kol_profiles").collect()
    assert [r.followers_count for r in row] == [2]
    reasons = [r.reason for r in spark_session.table("lake.silver.quarantine").collect()]
    assert reasons == ["bad_timestamp"]


def test_silver_vs_bronze_keys_counts_business_keys_whatever_the_producer_keyed_by(lake, lake_services,
                                                                                   spark_session):
    """A producer keying by event id (or not at all): the key check must still see 40 KOLs, not 80 messages."""
    import uuid

    from lakehouse import kafka
    from lakehouse.core.entities import entities
    from lakehouse.quality.lake_checks import silver_lake_checks

    client = kafka.producer(lake)
    for version in range(2):
        for i in range(40):
            doc = {"kol_id": f" k{i} ", "platform": "TikTok", "username": f"u{i}", "followers_count": version}
            key = uuid.uuid4().bytes if i % 2 else None  # event ids, or no key at all
            client.produce(TOPICS["profiles"], key=key, value=json.dumps(doc).encode())
    assert client.flush(30) == 0
    ingest_topic(TOPICS["profiles"], lake, log=lambda *_: None)
    build_silver(spark_session, dag_id="t", run_id="keys")
    results, rows = silver_lake_checks(spark_session, entities()["profiles"], None)
    keys = next(r for r in results if r.check_id == "silver_vs_bronze_keys.profiles")
    assert rows == 40 and (keys.status, keys.observed) == (Status.PASS, 1.0), keys
