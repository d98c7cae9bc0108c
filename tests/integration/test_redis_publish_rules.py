"""What a publish writes to Redis, key by key, and what readers get back (real redis-server, small inputs whose
expected values are computed from the rows the test wrote)."""

import pyarrow as pa
import pytest
import redis

from lakehouse.core.names import GOLD_SUMMARY_TABLE
from lakehouse.serving import redis_publish as rp

pytestmark = pytest.mark.integration

ROWS = [  # platform, kol_id, final, trending, reason (None: active)
    ("tiktok", "a", 90.1234567, 10.0, None), ("tiktok", "b", 70.0, 30.0, None), ("tiktok", "c", 70.0, 20.0, "stale"),
    ("tiktok", "d", 10.0, 5.0, None), ("youtube", "e", 50.0, 40.0, None), ("youtube", "f", 60.0, 1.0, "stale"),
]


def gold_rows() -> list[dict]:
    return [{"platform": p, "kol_id": k, "username": f"user_{k}", "followers_count": 100 * (i + 1),
             "favorites_count": None, "trending_score": t, "trending_reason": r, "trust_score": None,
             "success_score": 1.5, "final_score": f, "tier": "nano"}
            for i, (p, k, f, t, r) in enumerate(ROWS)]


def ranked(platform: str, by: str) -> list[str]:
    """kol_ids by descending score (ties: reverse kol_id, as Redis orders them); trending: active KOLs only."""
    column = 2 if by == "final" else 3
    mine = [r for r in ROWS if r[0] == platform and (by == "final" or r[4] is None)]
    return [r[1] for r in sorted(mine, key=lambda r: (r[column], r[1]), reverse=True)]


@pytest.fixture
def published(settings, redis_service):
    small = settings.replace(serving_list_size=2)
    result = rp.publish(gold_rows(), small, chunk=1, source={"gold_snapshot_id": 7, "gold_sequence": 3})
    return small, result


def test_a_publish_reports_its_version_and_what_it_wrote(published, settings):
    small, result = published
    assert {k: result[k] for k in ("version", "previous", "published", "superseded", "removed_keys")} == {
        "version": 1, "previous": None, "published": {"tiktok": 4, "youtube": 2}, "superseded": False,
        "removed_keys": 0}
    again = rp.publish(gold_rows(), small, source={"gold_snapshot_id": 8, "gold_sequence": 4})
    assert (again["version"], again["previous"]) == (2, 1)
    third = rp.publish(gold_rows(), small, source={"gold_snapshot_id": 9, "gold_sequence": 5})
    profiles, rankings_and_lists = len(ROWS), 2 * 3
    assert (third["version"], third["removed_keys"]) == (3, profiles + rankings_and_lists)  # version 1 dropped
    assert rp.published_source(small) == {"gold_snapshot_id": 9, "gold_sequence": 5}


@pytest.mark.parametrize("by", ["final", "trending"])
def test_pages_of_a_ranking_come_in_rank_order(published, by):
    small, _ = published
    for platform in ("tiktok", "youtube"):
        whole = [h["kol_id"] for h in rp.read_ranked(small, platform, by=by, start=0, count=10)]
        assert whole == ranked(platform, by)
    assert [h["kol_id"] for h in rp.read_ranked(small, "tiktok", by=by, start=1, count=1)] == ranked("tiktok", by)[1:2]
    assert [h["kol_id"] for h in rp.read_ranked(small, "tiktok", by=by)] == ranked("tiktok", by)  # default page


def test_a_profile_hash_holds_every_field_as_text(published):
    small, _ = published
    (first,) = rp.read_ranked(small, "tiktok", start=0, count=1)
    assert first == {"kol_id": "a", "username": "user_a", "followers_count": "100", "favorites_count": "",
                     "trending_score": "10", "trending_reason": "", "trust_score": "", "success_score": "1.5",
                     "final_score": "90.123457", "platform": "tiktok", "tier": "nano", "engagement_rate": "",
                     "following_count": "", "post_count": "", "video_count": "", "trust_model_version": ""}


def test_the_dashboard_list_is_the_top_by_final_score_with_typed_fields(published):
    small, _ = published
    version, listing = rp.read_published(small, "tiktok")
    assert version == 1
    assert [r["kol_id"] for r in listing] == ["a", "b"]  # serving_list_size 2; b before c: ties by kol_id
    assert listing[0] == {"kol_id": "a", "username": "user_a", "followers_count": 100, "favorites_count": None,
                          "trending_score": 10.0, "trending_reason": None, "trust_score": None,
                          "success_score": 1.5, "final_score": 90.123457}
    client = redis.Redis.from_url(small.redis_url)
    # the test plan's key names, spelled out: the versioned set and its unversioned copies
    assert client.get("kol:profiles:list:tiktok") == client.get("kol:v1:profiles:list:tiktok")
    assert client.zcard("kol:final:tiktok") == client.zcard("kol:v1:final:tiktok") == 4
    assert client.zcard("kol:trending:tiktok") == client.zcard("kol:v1:trending:tiktok") == 3
    assert client.hget("kol:v1:profile:tiktok:a", "username") == b"user_a" and client.get("kol:version") == b"1"
    assert client.hget("kol:meta", "version") == b"1" and float(client.hget("kol:meta", "published_at")) > 0


def test_published_counts_are_what_readers_can_see(published, settings):
    small, _ = published
    assert rp.published_counts(small, ["tiktok", "youtube", "instagram"]) == {
        "tiktok": {"list": 2, "trending": 3, "final": 4, "profiles": 4},
        "youtube": {"list": 2, "trending": 1, "final": 2, "profiles": 2},
        "instagram": {"list": 0, "trending": 0, "final": 0, "profiles": 0},
    }


def test_before_any_publish_readers_get_nothing(settings, redis_service):
    assert rp.read_ranked(settings, "tiktok") == []
    assert rp.read_published(settings, "tiktok") == (None, [])
    nothing = {"list": 0, "trending": 0, "final": 0, "profiles": 0}
    assert rp.published_counts(settings, ["tiktok", "youtube"]) == {"tiktok": nothing, "youtube": nothing}
    assert rp.published_source(settings) == {}


def test_an_older_gold_snapshot_never_replaces_a_newer_one(published):
    small, _ = published
    stale = rp.publish(gold_rows()[:2], small, source={"gold_snapshot_id": 6, "gold_sequence": 2})
    assert (stale["version"], stale["superseded"]) == (1, True)
    assert rp.read_published(small, "youtube")[1] != []  # still version 1's youtube


def test_rows_without_a_trending_reason_column_are_all_active(settings, redis_service):
    rows = [{k: v for k, v in r.items() if k != "trending_reason"} for r in gold_rows()]
    rp.publish(rows, settings)
    assert rp.published_counts(settings, ["tiktok"])["tiktok"]["trending"] == 4


def test_the_client_has_the_documented_timeouts_and_no_credentials_by_default(settings):
    kwargs = rp.redis_client(settings).connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["username"], kwargs["password"]) == (
        10, 5, None, None)
    secured = rp.redis_client(settings.replace(redis_username="app", redis_password="pw"), decode_responses=True)
    assert {k: secured.connection_pool.connection_kwargs[k] for k in ("username", "password", "decode_responses")} == {
        "username": "app", "password": "pw", "decode_responses": True}


def test_publish_gold_publishes_main_of_gold_with_its_snapshot(settings, redis_service, catalog):
    schema = pa.schema([("platform", pa.string()), ("kol_id", pa.string()), ("username", pa.string()),
                        ("followers_count", pa.int64()), ("favorites_count", pa.int64()),
                        ("trending_score", pa.float64()), ("trending_reason", pa.string()),
                        ("trust_score", pa.float64()), ("success_score", pa.float64()),
                        ("final_score", pa.float64()), ("tier", pa.string()), ("not_published", pa.string())])
    table = catalog.create_table(GOLD_SUMMARY_TABLE, schema)
    table.append(pa.Table.from_pylist([{**r, "not_published": "x"} for r in gold_rows()], schema=schema))
    snapshot = table.refresh().current_snapshot()
    rows, source = rp.read_gold(settings)
    assert source == {"gold_snapshot_id": snapshot.snapshot_id, "gold_sequence": snapshot.sequence_number}
    assert set(rows.column_names) == set(rp.HASH_FIELDS) & set(schema.names)
    result = rp.publish_gold(settings)
    assert (result["version"], result["published"], result["gold_snapshot_id"]) == (
        1, {"tiktok": 4, "youtube": 2}, snapshot.snapshot_id)
    assert [h["kol_id"] for h in rp.read_ranked(settings, "youtube")] == ranked("youtube", "final")
    assert rp.published_source(settings) == source  # kol:meta names the Gold snapshot published


def test_default_pages_and_top_lists_and_a_kol_without_a_final_score_ranks_as_zero(settings, redis_service):
    rows = [{"platform": "tiktok", "kol_id": f"k{i:02d}", "username": f"u{i}", "trending_score": float(i),
             "final_score": float(i) / 100} for i in range(60)]
    rows[0]["final_score"] = None
    rp.publish(rows, settings)
    assert len(rp.read_ranked(settings, "tiktok")) == 50  # a page is 50 KOLs unless asked
    top = rp.top_kols(settings, ["tiktok"])["tiktok"]
    assert [r["kol_id"] for r in top] == [f"k{i:02d}" for i in range(59, 44, -1)]  # the top 15
    bottom = sorted(rp.read_published(settings, "tiktok")[1], key=lambda r: (-(r["final_score"] or 0), r["kol_id"]))
    assert [r["kol_id"] for r in rp.top_kols(settings, ["tiktok"], n=60)["tiktok"][-2:]] == ["k01", "k00"]
    assert bottom[-1]["kol_id"] == "k00"


def test_an_empty_gold_is_read_as_snapshot_none(settings, redis_service, catalog):
    catalog.create_table(GOLD_SUMMARY_TABLE, pa.schema([("platform", pa.string()), ("kol_id", pa.string())]))
    rows, source = rp.read_gold(settings)
    assert (rows.num_rows, source) == (0, {"gold_snapshot_id": None, "gold_sequence": 0})


def test_a_platform_without_an_active_kol_publishes_an_empty_trending_set_and_null_scores_rank_as_zero(
        settings, redis_service):
    rows = [{"platform": "youtube", "kol_id": "s", "trending_score": 5.0, "trending_reason": "stale",
             "final_score": 1.0},
            {"platform": "tiktok", "kol_id": "n", "trending_score": None, "trending_reason": None,
             "final_score": None}]
    result = rp.publish(rows, settings)
    assert result["published"] == {"youtube": 1, "tiktok": 1} and not result["superseded"]
    client = redis.Redis.from_url(settings.redis_url)
    assert client.zcard("kol:v1:trending:youtube") == 0
    assert client.zscore("kol:v1:trending:tiktok", "n") == 0.0 == client.zscore("kol:v1:final:tiktok", "n")
