"""Publish Gold ``kol_summary`` to the Redis hot path under the test plan's keys.

- ``kol:profile:{platform}:{kol_id}``  hash of one KOL's metrics and scores
- ``kol:trending:{platform}``          sorted set kol_id -> trending score
- ``kol:profiles:list:{platform}``     JSON list the dashboard reads

The sorted set and list are written under staging names and renamed into
place in one MULTI/EXEC, so a reader sees the old or the new one, never a mix.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

from lakehouse.config import Settings

LIST_FIELDS = (
    "kol_id", "username", "followers_count", "favorites_count",
    "trending_score", "trust_score", "success_score", "final_score",
)
HASH_FIELDS = LIST_FIELDS + ("platform", "tier", "engagement_rate", "following_count", "post_count", "video_count")


def profile_key(platform: str, kol_id: str) -> str:
    return f"kol:profile:{platform}:{kol_id}"


def trending_key(platform: str) -> str:
    return f"kol:trending:{platform}"


def list_key(platform: str) -> str:
    return f"kol:profiles:list:{platform}"


def index_key(platform: str) -> str:
    """Set of published kol_ids, so stale profile hashes can be removed on the next publish."""
    return f"kol:profiles:index:{platform}"


def redis_client(settings: Settings, **kwargs):
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5, **kwargs)


def read_gold(settings: Settings) -> list[dict]:
    from lakehouse.catalog import get_catalog
    from lakehouse.etl.entities import GOLD_SUMMARY_TABLE

    table = get_catalog(settings).load_table(GOLD_SUMMARY_TABLE)
    return table.scan(selected_fields=tuple(dict.fromkeys(HASH_FIELDS))).to_arrow().to_pylist()


def _clean(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 6)
    return value


def publish(rows: list[dict], settings: Settings, chunk: int = 10_000) -> dict:
    """Write ``rows`` (Gold records) to Redis; returns per-platform counts and seconds."""
    started = time.monotonic()
    client = redis_client(settings)
    by_platform: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_platform[row["platform"]].append(row)
    counts = {}
    token = f"{int(time.time() * 1000)}"
    for platform, items in by_platform.items():
        pipe = client.pipeline(transaction=False)
        staging_z, staging_l, staging_i = (f"{k}:staging:{token}" for k in (
            trending_key(platform), list_key(platform), index_key(platform)))
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            for row in part:
                pipe.hset(profile_key(platform, row["kol_id"]),
                          mapping={f: _clean(row.get(f)) for f in HASH_FIELDS})
            pipe.zadd(staging_z, {row["kol_id"]: float(row["trending_score"] or 0.0) for row in part})
            pipe.sadd(staging_i, *(row["kol_id"] for row in part))
            pipe.execute()
        listing = [{f: _clean(row.get(f)) for f in LIST_FIELDS} for row in items]
        client.set(staging_l, json.dumps(listing, separators=(",", ":")))
        stale = client.sdiff(index_key(platform), staging_i)
        swap = client.pipeline(transaction=True)
        swap.rename(staging_z, trending_key(platform))
        swap.rename(staging_l, list_key(platform))
        swap.rename(staging_i, index_key(platform))
        for kol_id in stale:
            swap.delete(profile_key(platform, kol_id.decode()))
        swap.execute()
        counts[platform] = len(items)
    return {"published": counts, "seconds": round(time.monotonic() - started, 3)}


def published_counts(settings: Settings, platforms) -> dict[str, dict[str, int]]:
    """What readers can see per platform: list length, sorted-set size, profile hashes."""
    client = redis_client(settings)
    out = {}
    for platform in platforms:
        raw = client.get(list_key(platform))
        hashes = sum(1 for _ in client.scan_iter(match=profile_key(platform, "*"), count=5000))
        out[platform] = {
            "list": len(json.loads(raw)) if raw else 0,
            "trending": client.zcard(trending_key(platform)),
            "profiles": hashes,
        }
    return out


def publish_gold(settings: Settings) -> dict:
    return publish(read_gold(settings), settings)
