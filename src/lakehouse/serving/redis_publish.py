"""Publish Gold ``kol_summary`` to the Redis hot path, as a versioned set behind a pointer.

Keys (the test plan's names under a version prefix):

- ``kol:v{N}:profile:{platform}:{kol_id}``  hash of one KOL's metrics and scores
- ``kol:v{N}:trending:{platform}``          sorted set kol_id -> trending score, active KOLs only
  (a KOL without a video in the trending window has no place in a trending list)
- ``kol:v{N}:final:{platform}``             sorted set kol_id -> final score, every KOL: paged reads by rank
- ``kol:v{N}:profiles:list:{platform}``     JSON list the dashboard reads: the top ``serving_list_size``
  (1,000) KOLs by final score, so one GET stays bounded however large the platform grows
- ``kol:version``                           the published N (the pointer readers resolve first)
- ``kol:profiles:list:{platform}``, ``kol:trending:{platform}``, ``kol:final:{platform}``: copies of the
  published N's list and sorted sets, switched in the same transaction as the
  pointer, for readers that use the test plan's unversioned names.

:func:`read_ranked` is how a reader pages past the list: a ZREVRANGE of one
sorted set, then the hashes of that page.

Publishers are serialized by a Redis lock (``kol:publish:lock``, redis-py's
token lock with a timeout, so a crashed publisher cannot hold it forever):
two publishes never unlink each other's keys. A publish writes version N+1,
verifies it, then flips the pointer (and the unversioned copies) in one
MULTI/EXEC guarded by WATCH on ``kol:meta``: it switches only if no newer Gold
snapshot (by Iceberg sequence number) was published meanwhile, so the pointer
never moves backwards. A reader sees the
old set or the new one, never a mix; if Redis dies mid-publish the pointer
still names the old, intact set. The previous version is kept for readers
that resolved the pointer just before the flip; the next publish unlinks it
(and any half-written version) before it writes.

Writing: Gold is stringified column by column in Arrow, and each chunk of
profiles is packed by hiredis' C command packer into one buffer of HSETs (one
per KOL) and a ZADD of their trending scores. One sender thread streams the
buffers on one connection while the next chunks are packed, so encoding
overlaps with Redis executing the previous chunk. Old versions are removed
server-side by a Lua script (``DROP_VERSIONS_STEP``), one bounded SCAN page
per call; its key pattern assumes a single Redis node, not a cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import TYPE_CHECKING, Any

import hiredis
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.config import Settings
from lakehouse.core.names import GOLD_SUMMARY_TABLE
from lakehouse.iceberg.catalog import get_catalog

if TYPE_CHECKING:  # redis loads with the first client
    from redis import Redis
    from redis.connection import AbstractConnection

# What a Gold row or a published entry holds: JSON values (strings, numbers, null), by field name.
Row = dict[str, Any]
Source = dict[str, int | None]  # the Gold snapshot a version was built from: gold_snapshot_id, gold_sequence

LIST_FIELDS = (
    "kol_id", "username", "followers_count", "favorites_count",
    "trending_score", "trending_reason", "trust_score", "success_score", "final_score",
)
HASH_FIELDS = LIST_FIELDS + ("platform", "tier", "engagement_rate", "following_count", "post_count", "video_count",
                             "trust_model_version")
POINTER = "kol:version"
PUBLISH_LOCK = "kol:publish:lock"
LOCK_TIMEOUT_S = 900  # a publisher that died releases the lock after this
LOCK_WAIT_S = 600  # how long a publisher waits for the one before it
SEQUENCE = "kol:version:seq"
META = "kol:meta"
# ARGV: SCAN cursor, JSON list of versions to keep. One bounded SCAN step, so Redis is never blocked long.
DROP_VERSIONS_STEP = """
local keep = {}
for _, v in ipairs(cjson.decode(ARGV[2])) do keep[tostring(v)] = true end
local page = redis.call('SCAN', ARGV[1], 'MATCH', 'kol:v*:*', 'COUNT', 10000)
local removed = 0
for _, key in ipairs(page[2]) do
  local v = string.match(key, '^kol:v(%d+):')
  if v and not keep[v] then
    redis.call('UNLINK', key)
    removed = removed + 1
  end
end
return {page[1], removed}
"""


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


def final_key(platform: str, version: int | None = None) -> str:
    key = f"kol:final:{platform}"
    return versioned(version, key) if version is not None else key


RANKINGS = {"final": final_key, "trending": trending_key}


def list_key(platform: str, version: int | None = None) -> str:
    key = f"kol:profiles:list:{platform}"
    return versioned(version, key) if version is not None else key


def redis_client(settings: Settings, **kwargs: Any) -> Redis:  # Any: redis-py's connection options
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5,
                                username=settings.redis_username or None,
                                password=settings.redis_password or None, **kwargs)


def current_version(client: Redis) -> int | None:
    raw = client.get(POINTER)
    return int(raw) if raw is not None else None


def read_gold(settings: Settings) -> tuple[pa.Table, Source]:
    """Gold of the current ``main`` snapshot (the published fields), and that snapshot's id and sequence number."""
    table = get_catalog(settings).load_table(GOLD_SUMMARY_TABLE)
    snap = table.current_snapshot()
    fields = [f for f in dict.fromkeys(HASH_FIELDS) if f in {c.name for c in table.schema().fields}]
    source: Source = {"gold_snapshot_id": snap.snapshot_id if snap else None,
              "gold_sequence": snap.sequence_number if snap else 0}
    return table.scan(selected_fields=tuple(fields)).to_arrow(), source


def _rounded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.round(column, 6) if pa.types.is_floating(column.type) else column


def _as_text(table: pa.Table, field: str) -> list[str]:
    """A column as the strings Redis stores ('' for null, floats to 6 decimals)."""
    if field not in table.column_names:
        return [""] * table.num_rows
    texts: list[str] = pc.fill_null(pc.cast(_rounded(table.column(field)), pa.string()), "").to_pylist()
    return texts


def _listing(table: pa.Table, size: int) -> bytes:
    """The dashboard's JSON list: the top ``size`` KOLs by final score (ties: kol_id), LIST_FIELDS with their
    types (null where Gold has none)."""
    top = table.sort_by([("final_score", "descending"), ("kol_id", "ascending")]).slice(0, size)
    columns = {f: _rounded(top.column(f)) if f in top.column_names else pa.nulls(top.num_rows)
               for f in LIST_FIELDS}
    return orjson.dumps(pa.table(columns).to_pylist())


def _active(table: pa.Table) -> pa.Array | pa.ChunkedArray:
    """Which rows have a trending score of their own (no ``trending_reason``)."""
    if "trending_reason" not in table.column_names:
        return pa.array([True] * table.num_rows)
    return pc.is_null(table.column("trending_reason"))


def publish(rows: list[Row] | pa.Table, settings: Settings, *, chunk: int = 2_000,
            source: Source | None = None) -> dict[str, Any]:
    """Write Gold rows as a new version and flip the pointer, holding the publish lock; counts and seconds.

    ``source``: what the rows are (``gold_snapshot_id``, ``gold_sequence``), kept in ``kol:meta``.
    """
    client = redis_client(settings)
    with client.lock(PUBLISH_LOCK, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_WAIT_S, thread_local=False):
        return _publish_locked(client, rows, chunk=chunk, source=source or {}, list_size=settings.serving_list_size)


def _publish_locked(client: Redis, rows: list[Row] | pa.Table, *, chunk: int, source: Source,
                    list_size: int) -> dict[str, Any]:
    started = time.monotonic()
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows)
    previous = current_version(client)
    version = int(client.incr(SEQUENCE))
    counts: dict[str, int] = {}
    active: dict[str, int] = {}
    connection = client.connection_pool.get_connection()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-publish") as sender:
            # first, while the first chunk is encoded: drop what no reader can be using any more
            # (all but the current version; the one before it goes now, one publish after its switch)
            sent: list[Future[Any]] = [sender.submit(drop_versions, client, {previous, version})]
            for platform in pc.unique(table.column("platform")).to_pylist():
                part = table.filter(pc.equal(table.column("platform"), platform))
                counts[platform] = part.num_rows
                active[platform] = pc.sum(_active(part)).as_py() or 0
                for packed in _packed_chunks(part, platform, version, chunk):
                    sent.append(sender.submit(_send, connection, *packed))
                command = ("SET", list_key(platform, version), _listing(part, list_size))
                listing = hiredis.pack_command(command)  # type: ignore[arg-type]  # hiredis' stub: a 1-tuple
                sent.append(sender.submit(_send, connection, listing, 1))
            for future in sent:
                future.result()  # the first error (e.g. Redis gone) fails the publish before the switch
    finally:
        client.connection_pool.release(connection)
    for platform, n in counts.items():  # verify before anyone can see it
        held = (client.zcard(final_key(platform, version)), client.zcard(trending_key(platform, version)))
        if held != (n, active[platform]):
            raise PublishError(f"version {version}: {platform} sorted sets hold {held} KOLs, not "
                               f"{(n, active[platform])} (all, active); not switched")
    switched = _switch(client, version, previous, counts, source)
    return {"version": version if switched else previous, "previous": previous, "published": counts,
            "superseded": not switched, "removed_keys": sent[0].result(),
            "seconds": round(time.monotonic() - started, 3)}


def _switch(client: Redis, version: int, previous: int | None, counts: dict[str, int], source: Source) -> bool:
    """Point readers at ``version`` in one MULTI/EXEC, unless a newer Gold snapshot is already published.

    WATCH on ``kol:meta`` makes the comparison and the switch one atomic step.
    Returns False (nothing switched) when the published Gold is newer than ``source``'s.
    """
    with client.pipeline(transaction=True) as switch:
        switch.watch(META)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch untyped
        published_seq = switch.hget(META, "gold_sequence")
        if published_seq is not None and int(json.loads(published_seq)) > int(source.get("gold_sequence") or 0):
            return False
        switch.multi()
        switch.set(POINTER, version)
        for platform in set(counts) | set(_published_platforms(client, previous)):
            for key in (list_key, *RANKINGS.values()):
                switch.delete(key(platform))  # gone if this version has none (no platform, no active KOL)
                if platform in counts:
                    switch.copy(key(platform, version), key(platform))
        switch.hset(META, mapping={"version": version, "published_at": time.time(), "counts": json.dumps(counts),
                                   **{k: json.dumps(v) for k, v in source.items()}})
        switch.execute()  # WatchError if kol:meta changed since WATCH: the lock makes that a bug, not a race
    return True


def _packed_chunks(part: pa.Table, platform: str, version: int, chunk: int) -> Iterator[tuple[bytes, int]]:
    """``(protocol bytes, commands)`` per chunk: an HSET per KOL, a ZADD of their final scores and one of
    the active KOLs' trending scores."""
    kol_ids = part.column("kol_id").to_pylist()
    scores = {name: pc.fill_null(pc.cast(part.column(f"{name}_score"), pa.float64()), 0.0).to_pylist()
              for name in RANKINGS}
    active = _active(part).to_pylist()
    rows = list(zip(*(_as_text(part, f) for f in HASH_FIELDS), strict=True))
    prefix = profile_key(platform, "", version)
    for start in range(0, len(kol_ids), chunk):
        end = min(start + chunk, len(kol_ids))
        commands = [hiredis.pack_command(("HSET", prefix + kol_ids[i],
                                          *chain.from_iterable(zip(HASH_FIELDS, rows[i], strict=True))))
                    for i in range(start, end)]
        for name, key in RANKINGS.items():
            ranked = [i for i in range(start, end) if name != "trending" or active[i]]
            if ranked:
                members = chain.from_iterable((scores[name][i], kol_ids[i]) for i in ranked)
                commands.append(hiredis.pack_command(("ZADD", key(platform, version), *members)))
        yield b"".join(commands), len(commands)


def _send(connection: AbstractConnection, packed: bytes, commands: int) -> None:
    """Write protocol bytes and read every reply; a Redis error reply raises."""
    connection.send_packed_command([packed])  # type: ignore[no-untyped-call]  # untyped in redis-py
    for _ in range(commands):
        connection.read_response()


def _published_platforms(client: Redis, version: int | None) -> list[str]:
    if version is None:
        return []
    raw = client.hget(META, "counts")
    return list(json.loads(raw)) if raw else []


def drop_versions(client: Redis, keep: set[int | None]) -> int:
    """Unlink every ``kol:v{N}:*`` key whose N is not in ``keep`` (old and half-written versions).

    Runs server-side one SCAN page at a time: no key names travel to the client.
    """
    step = client.register_script(DROP_VERSIONS_STEP)
    keep_json = json.dumps(sorted(v for v in keep if v is not None))
    cursor, removed = "0", 0
    while True:
        cursor, n = step(args=[cursor, keep_json])
        removed += int(n)
        if int(cursor) == 0:
            return removed


def read_published(settings: Settings, platform: str) -> tuple[int | None, list[Row]]:
    """What a reader sees: resolve the pointer once, then read that version's list."""
    client = redis_client(settings)
    version = current_version(client)
    if version is None:
        return None, []
    raw = client.get(list_key(platform, version))
    return version, json.loads(raw) if raw else []


def read_ranked(settings: Settings, platform: str, *, by: str = "final", start: int = 0,
                count: int = 50) -> list[dict[str, str]]:
    """One page of a ranking as published: ranks ``start`` .. ``start + count - 1`` (0 = highest) of the
    ``by`` sorted set (``final``: every KOL; ``trending``: active KOLs), each KOL's hash, in rank order.

    The pointer is resolved once, so a page never mixes two versions. Equal scores come in reverse
    kol_id order (Redis orders ties by member).
    """
    client = redis_client(settings)
    version = current_version(client)
    if version is None:
        return []
    ranked = client.zrevrange(RANKINGS[by](platform, version), start, start + count - 1)
    kol_ids = [k.decode() if isinstance(k, bytes) else str(k) for k in ranked]
    with client.pipeline(transaction=False) as pipe:
        for kol_id in kol_ids:
            pipe.hgetall(profile_key(platform, kol_id, version))
        hashes = pipe.execute()
    return [{k.decode(): v.decode() for k, v in h.items()} for h in hashes]


def top_kols(settings: Settings, platforms: Iterable[str], n: int = 15) -> dict[str, list[Row]]:
    """The dashboard's "Top 15": highest final scores per platform, as published, with the breakdown."""
    out = {}
    for platform in platforms:
        _, listing = read_published(settings, platform)
        out[platform] = sorted(listing, key=lambda r: (-(r["final_score"] or 0), r["kol_id"]))[:n]
    return out


def published_counts(settings: Settings, platforms: Iterable[str]) -> dict[str, dict[str, int]]:
    """What readers can see per platform under the current version: list length, sorted set, hashes."""
    client = redis_client(settings)
    version = current_version(client)
    out = {}
    for platform in platforms:
        if version is None:
            out[platform] = {"list": 0, "trending": 0, "final": 0, "profiles": 0}
            continue
        raw = client.get(list_key(platform, version))
        hashes = sum(1 for _ in client.scan_iter(match=profile_key(platform, "*", version), count=10_000))
        out[platform] = {"list": len(json.loads(raw)) if raw else 0,
                         **{name: client.zcard(key(platform, version)) for name, key in RANKINGS.items()},
                         "profiles": hashes}
    return out


def publish_gold(settings: Settings) -> dict[str, Any]:
    """Publish the current Gold ``main`` snapshot (also what ``lakehouse redis restore`` runs)."""
    rows, source = read_gold(settings)
    return {**publish(rows, settings, source=source), **source}


def published_source(settings: Settings) -> Source:
    """What ``kol:meta`` says the published version was built from (empty before any publish)."""
    raw = redis_client(settings).hgetall(META)
    return {k.decode(): json.loads(v) for k, v in raw.items() if k in (b"gold_snapshot_id", b"gold_sequence")}
