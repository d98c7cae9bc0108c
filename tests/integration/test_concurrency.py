"""Two writers at once: model registry, Redis publishes and WAP publishes never lose or strand each other's work."""

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from lakehouse.core.checks import Status
from lakehouse.core.errors import PublishConflictError
from lakehouse.core.names import GOLD_SUMMARY_TABLE
from lakehouse.iceberg.catalog import ensure_table
from lakehouse.ml import registry
from lakehouse.quality.serving import redis_freshness
from lakehouse.serving import redis_publish as rp

pytestmark = pytest.mark.integration


def test_concurrent_trainings_get_distinct_versions_and_leave_one_champion(settings, catalog):
    def train(i: int) -> dict:
        version = registry.reserve_version(settings, f"run-{i}", "kol_model_training")
        artifact = registry.artifact_path(settings, version)
        return registry.register(settings, version=version, promote=True, dag_id="kol_model_training",
                                 run_id=f"run-{i}", metrics={"auc": 0.9}, params={}, training_snapshots={},
                                 failed_gates=[], artifact=artifact)

    with ThreadPoolExecutor(max_workers=4) as pool:
        entries = list(pool.map(train, range(4)))
    rows = registry.entries(settings)
    assert sorted(r["version"] for r in rows) == [1, 2, 3, 4]  # none reserved twice, none overwritten
    assert len({r["artifact_path"] for r in rows}) == 4
    assert sum(r["is_champion"] for r in rows) == 1 and registry.champion(settings) is not None
    assert {e["version"] for e in entries} == {1, 2, 3, 4}
    assert registry.reserve_version(settings, "run-2") == next(e["version"] for e in entries if e["run_id"] == "run-2")


def _gold_rows(n: int, tag: float) -> pa.Table:
    return pa.Table.from_pylist([
        {"kol_id": f"k{i}", "platform": "tiktok", "username": f"u{i}", "followers_count": i, "favorites_count": i,
         "trending_score": (i % 100) + tag, "trust_score": 50.0, "success_score": 50.0, "final_score": 50.0}
        for i in range(n)])


def test_concurrent_redis_publishes_are_serialized_and_the_pointer_never_moves_back(settings, redis_service):
    publishes = [(_gold_rows(3000, tag / 10), {"gold_snapshot_id": tag, "gold_sequence": tag}) for tag in (1, 2, 3, 4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: rp.publish(p[0], settings, source=p[1]), publishes))
    client = rp.redis_client(settings)
    version = rp.current_version(client)
    assert rp.published_source(settings)["gold_sequence"] == 4  # the newest Gold wins, whatever the order
    assert client.zcard(rp.trending_key("tiktok", version)) == 3000  # and its set is whole
    assert {r["version"] for r in results if not r["superseded"]} >= {version}
    stale = rp.publish(_gold_rows(10, 0), settings, source={"gold_snapshot_id": 0, "gold_sequence": 0})
    assert stale["superseded"] and rp.current_version(client) == version


def test_redis_freshness_fails_when_gold_moved_on_after_the_publish(settings, redis_service, catalog):
    gold = ensure_table(catalog, GOLD_SUMMARY_TABLE, pa.schema([("platform", pa.string()), ("kol_id", pa.string())]))
    gold.append(pa.Table.from_pylist([{"platform": "tiktok", "kol_id": "a"}]))
    first = gold.current_snapshot().snapshot_id
    assert redis_freshness(catalog, {"gold_snapshot_id": first}).status == Status.PASS
    gold.append(pa.Table.from_pylist([{"platform": "tiktok", "kol_id": "b"}]))  # a transform published Gold...
    stale = redis_freshness(catalog, {"gold_snapshot_id": first})  # ...but not Redis
    assert stale.status == Status.FAIL and stale.observed == first
    assert redis_freshness(catalog, {}).status == Status.FAIL


def test_publish_moves_every_table_or_none_when_main_moved(lake, spark_session):
    from lakehouse.etl import wap
    from lakehouse.spark.tables import ensure_branch

    spark = spark_session
    tables = ("silver.t_one", "silver.t_two")
    for t in tables:
        spark.sql(f"CREATE TABLE lake.{t} (id INT) USING iceberg")
        spark.sql(f"INSERT INTO lake.{t} VALUES (0)")
        for branch in ("audit_run_a", "audit_run_b"):
            ensure_branch(spark, t, branch)
    spark.sql("INSERT INTO lake.silver.t_two.branch_audit_run_a VALUES (1)")  # run A touched only t_two
    for t in tables:
        spark.sql(f"INSERT INTO lake.{t}.branch_audit_run_b VALUES (2)")
    assert set(wap.publish("audit_run_a", tables)) == set(tables)
    mains = {t: wap.refs(t)["main"] for t in tables}
    with pytest.raises(PublishConflictError, match=r"silver.t_two .*Nothing was published"):
        wap.publish("audit_run_b", tables)
    assert {t: wap.refs(t)["main"] for t in tables} == mains  # t_one could fast-forward, and was not moved
    assert all("audit_run_b" in wap.refs(t) for t in tables)  # kept for inspection


def test_publish_refuses_a_main_that_moved_after_its_check(lake, spark_session, monkeypatch):
    """The ref commit asserts the ``main`` that was checked: a publish racing past the check fails, and the
    commit that moved ``main`` in between is kept."""
    from pyiceberg.exceptions import CommitFailedException

    from lakehouse.etl import wap
    from lakehouse.spark.tables import ensure_branch

    spark, table = spark_session, "silver.t_race"
    spark.sql(f"CREATE TABLE lake.{table} (id INT) USING iceberg")
    spark.sql(f"INSERT INTO lake.{table} VALUES (0)")
    ensure_branch(spark, table, "audit_late")
    spark.sql(f"INSERT INTO lake.{table}.branch_audit_late VALUES (1)")
    checked = wap.publishable("audit_late", (table,))  # main is an ancestor of the branch: publishable
    spark.sql(f"INSERT INTO lake.{table} VALUES (2)")  # another run publishes in between
    moved = wap.refs(table)["main"]
    monkeypatch.setattr(wap, "publishable", lambda *_: checked)
    with pytest.raises(CommitFailedException):
        wap.publish("audit_late", (table,))
    assert wap.refs(table)["main"] == moved and "audit_late" in wap.refs(table)


def test_the_wap_lease_serializes_chains_across_dags(settings, redis_service):
    from lakehouse.orchestration.lease import WAP_LEASE, acquire_wap_lease, release_wap_lease
    from lakehouse.serving.redis_publish import redis_client

    assert acquire_wap_lease("transform-run") == {"holder": "transform-run", "waited": False}  # env settings
    ttl_ms = redis_client(settings).pttl(WAP_LEASE)
    assert settings.dagrun_timeout_hours * 3600_000 - 60_000 < ttl_ms <= settings.dagrun_timeout_hours * 3600_000
    assert acquire_wap_lease("transform-run", settings=settings) == {"holder": "transform-run", "waited": False}
    with pytest.raises(TimeoutError, match=r"held by run transform-run for over 0s; a retry waits again"):
        acquire_wap_lease("e2e-run", wait_s=0.4, settings=settings)
    # not its lease to give back: the holder is named
    assert release_wap_lease("e2e-run") == {"released": False, "holder": "transform-run"}
    assert release_wap_lease("transform-run", settings=settings) == {"released": True}
    assert release_wap_lease("transform-run", settings=settings) == {"released": False, "holder": ""}
    assert acquire_wap_lease("e2e-run", wait_s=0.5, settings=settings)["holder"] == "e2e-run"


def test_two_real_publishers_racing_leave_one_main_and_the_losers_branch(lake, spark_session):
    """Two runs branched from the same main publish at the same instant: one moves main, the other fails
    (at the ancestry check or at the ref commit, whichever it reached) and keeps its branch."""
    import threading

    from lakehouse.etl import wap
    from lakehouse.spark.tables import ensure_branch

    spark, table = spark_session, "silver.t_racers"
    spark.sql(f"CREATE TABLE lake.{table} (id INT) USING iceberg")
    spark.sql(f"INSERT INTO lake.{table} VALUES (0)")
    for i, branch in enumerate(("audit_racer_a", "audit_racer_b"), start=1):
        ensure_branch(spark, table, branch)
        spark.sql(f"INSERT INTO lake.{table}.branch_{branch} VALUES ({i})")
    heads, start, outcomes = wap.refs(table), threading.Barrier(2), {}

    def publish(branch: str) -> None:
        start.wait(timeout=30)
        try:
            outcomes[branch] = wap.publish(branch, (table,))
        except Exception as exc:  # the loser's error is the assertion's subject
            outcomes[branch] = exc

    racers = [threading.Thread(target=publish, args=(b,)) for b in ("audit_racer_a", "audit_racer_b")]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)
    won = [b for b, o in outcomes.items() if isinstance(o, dict)]
    lost = [b for b, o in outcomes.items() if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert type(outcomes[lost[0]]).__name__ in ("PublishConflictError", "CommitFailedException"), outcomes
    refs = wap.refs(table)
    assert refs["main"] == heads[won[0]] and lost[0] in refs and won[0] not in refs


def test_a_waiting_run_gets_the_lease_when_it_is_released_or_when_a_dead_holder_expires(settings, redis_service):
    import threading

    from lakehouse.orchestration.lease import acquire_wap_lease, release_wap_lease

    assert acquire_wap_lease("first-run", settings=settings)["holder"] == "first-run"
    got: dict = {}
    waiter = threading.Thread(target=lambda: got.update(acquire_wap_lease("second-run", wait_s=60, settings=settings)))
    waiter.start()
    assert release_wap_lease("first-run", settings=settings) == {"released": True}
    waiter.join(timeout=60)
    assert not waiter.is_alive() and got["holder"] == "second-run"
    release_wap_lease("second-run", settings=settings)

    short = settings.replace(dagrun_timeout_hours=1 / 3600)  # a one-second lease: the run died holding it
    assert acquire_wap_lease("dead-run", settings=short)["holder"] == "dead-run"
    taken = acquire_wap_lease("next-run", wait_s=60, settings=short)  # waits out the dead holder's TTL
    assert taken == {"holder": "next-run", "waited": True}
    release_wap_lease("next-run", settings=short)
