"""Publish Gold ``kol_summary`` to the Redis hot path, as a versioned set behind a pointer.

Keys (the test plan's names under a version prefix):

- ``kol:v{N}:profile:{platform}:{kol_id}``  hash of one KOL's metrics and scores
- ``kol:v{N}:trending:{platform}``          sorted set kol_id -> trending score
- ``kol:v{N}:profiles:list:{platform}``     JSON list the dashboard reads
- ``kol:version``                           the published N (the pointer readers resolve first)
- ``kol:profiles:list:{platform}``, ``kol:trending:{platform}``: copies of the
  published N's list and sorted set, switched in the same transaction as the
  pointer, for readers that use the test plan's unversioned names.

A publish writes version N+1 with pipelined commands, verifies it, then flips
the pointer (and the unversioned copies) in one MULTI/EXEC. A reader sees the
old set or the new one, never a mix; if Redis dies mid-publish the pointer
still names the old, intact set. The previous version is kept for readers
that resolved the pointer just before the flip; older ones are unlinked.
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
HASH_FIELDS = LIST_FIELDS + ("platform", "tier", "engagement_rate", "following_count", "post_count", "video_count",
                             "trust_model_version")
POINTER = "kol:version"
SEQUENCE = "kol:version:seq"
META = "kol:meta"


class PublishError(RuntimeError):
    pass


def versioned(version: int, key: str) -> str:
    return f"kol:v{version}:{key.removeprefix('kol:')}"


def profile_key(platform: str, kol_id: str, version: int | None = None) -> str:
    key = f"kol:profile:{platform}:{kol_id}"
    return versioned(version, key) if version is not None else key


def trending_key(platform: str, version: int | None = None) -> str:
    key = f"kol:trending:{platform}"
    return versioned(version, key) if version is not None else key


def list_key(platform: str, version: int | None = None) -> str:
    key = f"kol:profiles:list:{platform}"
    return versioned(version, key) if version is not None else key


def redis_client(settings: Settings, **kwargs):
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5, **kwargs)


def current_version(client) -> int | None:
    raw = client.get(POINTER)
    return int(raw) if raw is not None else None


def read_gold(settings: Settings) -> tuple[list[dict], int | None]:
    """Gold rows of the current ``main`` snapshot, and that snapshot's id."""
    from lakehouse.catalog import get_catalog
    from lakehouse.etl.entities import GOLD_SUMMARY_TABLE

    table = get_catalog(settings).load_table(GOLD_SUMMARY_TABLE)
    snap = table.current_snapshot()
    fields = [f for f in dict.fromkeys(HASH_FIELDS) if f in {c.name for c in table.schema().fields}]
    return table.scan(selected_fields=tuple(fields)).to_arrow().to_pylist(), snap.snapshot_id if snap else None


def _clean(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 6)
    return value


def publish(rows: list[dict], settings: Settings, *, chunk: int = 5_000, source: dict | None = None) -> dict:
    """Write ``rows`` (Gold records) as a new version and flip the pointer; per-platform counts and seconds."""
    started = time.monotonic()
    client = redis_client(settings)
    previous = current_version(client)
    version = int(client.incr(SEQUENCE))
    by_platform: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_platform[row["platform"]].append(row)
    pipe = client.pipeline(transaction=False)
    for platform, items in by_platform.items():
        zkey = trending_key(platform, version)
        for start in range(0, len(items), chunk):
            part = items[start:start + chunk]
            for row in part:
                pipe.hset(profile_key(platform, row["kol_id"], version),
                          mapping={f: _clean(row.get(f)) for f in HASH_FIELDS})
            pipe.zadd(zkey, {row["kol_id"]: float(row["trending_score"] or 0.0) for row in part})
            pipe.execute()
        listing = [{f: _clean(row.get(f)) for f in LIST_FIELDS} for row in items]
        pipe.set(list_key(platform, version), json.dumps(listing, separators=(",", ":")))
    pipe.execute()
    counts = {platform: len(items) for platform, items in by_platform.items()}
    for platform, n in counts.items():  # verify before anyone can see it
        if client.zcard(trending_key(platform, version)) != n:
            raise PublishError(f"version {version}: {platform} sorted set does not hold {n} KOLs; not switched")
    switch = client.pipeline(transaction=True)
    switch.set(POINTER, version)
    for platform in set(counts) | set(_published_platforms(client, previous)):
        if platform in counts:
            switch.copy(list_key(platform, version), list_key(platform), replace=True)
            switch.copy(trending_key(platform, version), trending_key(platform), replace=True)
        else:  # a platform Gold no longer has
            switch.delete(list_key(platform), trending_key(platform))
    switch.hset(META, mapping={"version": version, "published_at": time.time(), "counts": json.dumps(counts),
                               **{k: json.dumps(v) for k, v in (source or {}).items()}})
    switch.execute()
    removed = drop_versions(client, keep={version, previous})
    return {"version": version, "previous": previous, "published": counts, "removed_keys": removed,
            "seconds": round(time.monotonic() - started, 3)}


def _published_platforms(client, version: int | None) -> list[str]:
    if version is None:
        return []
    raw = client.hget(META, "counts")
    return list(json.loads(raw)) if raw else []


def drop_versions(client, keep: set) -> int:
    """Unlink every ``kol:v{N}:*`` key whose N is not in ``keep`` (old and half-written versions)."""
    removed = 0
    batch = []
    for key in client.scan_iter(match="kol:v*:*", count=10_000):
        head = key.split(b":", 2)[1]
        if head[1:].isdigit() and int(head[1:]) not in keep:
            batch.append(key)
            if len(batch) >= 10_000:
                removed += client.unlink(*batch)
                batch = []
    if batch:
        removed += client.unlink(*batch)
    return removed


def read_published(settings: Settings, platform: str) -> tuple[int | None, list[dict]]:
    """What a reader sees: resolve the pointer once, then read that version's list."""
    client = redis_client(settings)
    version = current_version(client)
    if version is None:
        return None, []
    raw = client.get(list_key(platform, version))
    return version, json.loads(raw) if raw else []


def top_kols(settings: Settings, platforms, n: int = 15) -> dict[str, list[dict]]:
    """The dashboard's "Top 15": highest final scores per platform, as published, with the breakdown."""
    out = {}
    for platform in platforms:
        _, listing = read_published(settings, platform)
        out[platform] = sorted(listing, key=lambda r: (-(r["final_score"] or 0), r["kol_id"]))[:n]
    return out


def published_counts(settings: Settings, platforms) -> dict[str, dict[str, int]]:
    """What readers can see per platform under the current version: list length, sorted set, hashes."""
    client = redis_client(settings)
    version = current_version(client)
    out = {}
    for platform in platforms:
        if version is None:
            out[platform] = {"list": 0, "trending": 0, "profiles": 0}
            continue
        raw = client.get(list_key(platform, version))
        hashes = sum(1 for _ in client.scan_iter(match=profile_key(platform, "*", version), count=10_000))
        out[platform] = {"list": len(json.loads(raw)) if raw else 0,
                         "trending": client.zcard(trending_key(platform, version)), "profiles": hashes}
    return out


def publish_gold(settings: Settings) -> dict:
    """Publish the current Gold ``main`` snapshot (also what ``lakehouse redis restore`` runs)."""
    rows, snapshot = read_gold(settings)
    return {**publish(rows, settings, source={"gold_snapshot_id": snapshot}), "gold_snapshot_id": snapshot}
