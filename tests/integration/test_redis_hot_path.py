"""The versioned Redis hot path on a real redis-server: atomic switch, crash safety, restore from Gold."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pytest
import redis

from lakehouse.core.names import PLATFORMS
from lakehouse.quality.serving import hot_path_checks, serving_checks
from lakehouse.services.manager import free_port
from lakehouse.serving.redis_publish import (
    POINTER,
    current_version,
    list_key,
    profile_key,
    publish,
    published_counts,
    read_published,
)

pytestmark = pytest.mark.integration


def _rows(n, tag, platforms=PLATFORMS):
    return [{"platform": platforms[i % len(platforms)], "kol_id": f"k{i}", "username": f"{tag}{i}",
             "followers_count": 1000 + i, "favorites_count": 10 * i, "trending_score": (i * 37) % 10_000 / 100,
             "success_score": 50.0, "trust_score": None, "final_score": 0.0, "tier": "nano"}
            for i in range(n)]


def test_readers_see_the_old_set_or_the_new_one_never_a_mix(settings, redis_service):
    client = redis.Redis.from_url(settings.redis_url)
    publish(_rows(3000, "old"), settings)
    stop, seen, mixed, failures = threading.Event(), set(), [], []

    def reader():
        try:
            while not stop.is_set():
                version, listing = read_published(settings, "tiktok")
                tags = {row["username"].rstrip("0123456789") for row in listing}
                sample = client.hget(profile_key("tiktok", listing[-1]["kol_id"], version), "username")
                tags.add(sample.decode().rstrip("0123456789") if sample else "missing")
                seen.update(tags)
                if len(tags) != 1:
                    mixed.append((version, tags))
        except Exception as exc:  # kept for the assertion below: a thread's exception fails the test
            failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(6):
            publish(_rows(3000, "new" if i % 2 == 0 else "old"), settings)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and not failures, failures
    assert not mixed, mixed[:3]
    assert seen == {"old", "new"}
    # only the current and the previous version are kept
    versions = {k.split(b":")[1] for k in client.scan_iter(match="kol:v[0-9]*:*")}
    assert versions == {f"v{current_version(client)}".encode(), f"v{current_version(client) - 1}".encode()}
    assert json.loads(client.get(list_key("tiktok"))) == read_published(settings, "tiktok")[1]


def test_redis_killed_mid_publish_fails_the_publish_and_keeps_the_old_set(settings, tmp_path):
    """A persistent redis (AOF, fsync always) is killed -9 mid-publish and restarted on the same data."""
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
            "--appendonly", "yes", "--appendfsync", "always", "--save", ""]

    def start():
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port).ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis did not start")

    local = settings.replace(redis_url=f"redis://127.0.0.1:{port}/0")
    proc = start()
    try:
        publish(_rows(2000, "old"), local)
        errors = []

        def big_publish():
            try:
                publish(_rows(200_000, "new"), local, chunk=500)
            except Exception as exc:  # the task's view: a clear connection error
                errors.append(exc)

        thread = threading.Thread(target=big_publish)
        thread.start()
        client, deadline = redis.Redis(port=port), time.monotonic() + 60
        while client.dbsize() < 3000:  # new version half written
            assert thread.is_alive() and time.monotonic() < deadline, (errors, client.dbsize())
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        thread.join(timeout=60)
        assert not thread.is_alive() and errors and isinstance(errors[0], redis.ConnectionError), errors
        proc = start()
        version, listing = read_published(local, "tiktok")
        assert version == 1 and {r["username"].rstrip("0123456789") for r in listing} == {"old"}
        assert published_counts(local, PLATFORMS)["tiktok"] == {"list": 1000, "trending": 1000, "final": 1000,
                                                                 "profiles": 1000}
        assert int(redis.Redis(port=port).get(POINTER)) == 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_publish_fails_clearly_when_redis_is_down(settings):
    with pytest.raises(redis.ConnectionError):
        publish(_rows(10, "x"), settings)  # nothing listens on the test's redis port


def test_restore_rebuilds_exactly_gold(settings, redis_service, catalog):
    from lakehouse.serving.redis_publish import read_gold

    catalog.create_namespace_if_not_exists("gold")
    rows = _rows(500, "gold")
    for r in rows:
        del r["trust_score"]  # no champion yet
        r["final_score"] = round((0.40 * r["trending_score"] + 0.35 * r["success_score"]) / 0.75, 6)
    catalog.create_table("gold.kol_summary", schema=pa.Table.from_pylist(rows).schema).append(
        pa.Table.from_pylist(rows))
    redis.Redis.from_url(settings.redis_url).flushall()  # the hot path is lost
    out = subprocess.run([sys.executable, "-m", "lakehouse.cli", "redis", "restore"], capture_output=True,
                         text=True, env={**os.environ, **settings.to_env()})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "published as version 1" in out.stdout
    gold_rows = read_gold(settings)[0].to_pylist()
    for platform in PLATFORMS:
        _, listing = read_published(settings, platform)
        expected = sorted(r["kol_id"] for r in gold_rows if r["platform"] == platform)
        assert sorted(r["kol_id"] for r in listing) == expected
    assert all(c.status == "PASS" for c in serving_checks(settings)), [
        (c.check_id, c.status, c.details) for c in serving_checks(settings) if c.status != "PASS"]
    nightly = hot_path_checks(settings)  # the nightly's serving layer: entries = Gold, then the content checks
    assert {c.check_id for c in nightly} >= {"redis_freshness", "redis_vs_gold.tiktok.profiles",
                                            "redis.final_score_formula.youtube"}
    assert all(c.status == "PASS" for c in nightly), [(c.check_id, c.observed) for c in nightly if c.status != "PASS"]


def test_a_version_that_does_not_hold_what_was_sent_is_refused_before_the_switch(settings, redis_service):
    from lakehouse.serving.redis_publish import PublishError

    publish(_rows(40, "old"), settings)
    client, before = redis.Redis.from_url(settings.redis_url), read_published(settings, "tiktok")
    twice = _rows(40, "new") + _rows(2, "new")  # k0, k1 twice: the sorted sets hold fewer KOLs than sent
    with pytest.raises(PublishError, match="not switched"):
        publish(twice, settings)
    assert current_version(client) == before[0] and read_published(settings, "tiktok") == before


def test_a_platform_gone_from_gold_is_gone_from_the_readers_keys(settings, redis_service):
    from lakehouse.serving.redis_publish import final_key, list_key, trending_key

    publish(_rows(40, "both"), settings)  # both platforms
    client = redis.Redis.from_url(settings.redis_url)
    assert all(client.exists(key("youtube")) for key in (list_key, final_key, trending_key))
    publish(_rows(40, "tiktok", platforms=("tiktok",)), settings)
    assert not any(client.exists(key("youtube")) for key in (list_key, final_key, trending_key))
    assert read_published(settings, "youtube")[1] == [] and len(read_published(settings, "tiktok")[1]) == 40


def test_top_kols_are_the_highest_final_scores_per_platform_ties_by_id(settings, redis_service):
    from lakehouse.serving.redis_publish import top_kols

    rows = _rows(40, "u")
    for i, row in enumerate(rows):
        row["final_score"] = float(i % 7)  # ties: several KOLs per score
    publish(rows, settings)
    top = top_kols(settings, PLATFORMS, n=5)
    for platform in PLATFORMS:
        mine = sorted((r for r in rows if r["platform"] == platform), key=lambda r: (-r["final_score"], r["kol_id"]))
        assert [r["kol_id"] for r in top[platform]] == [r["kol_id"] for r in mine[:5]]
