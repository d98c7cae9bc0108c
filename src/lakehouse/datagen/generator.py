"""Synthetic KOL profiles, videos and comments with known ground truth.

Seeded and reproducible. Follower counts are log-normal and engagement is
heavy-tailed; each profile carries an authentic/bot label whose features
differ in distribution (overlapping, so a model has to learn, not look up).
``bad_fraction`` injects faults with a known reason, so tests can check that
every injected record is quarantined or collapsed, and nothing else is.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
import orjson

from lakehouse.core.entities import Reason
from lakehouse.core.names import PLATFORMS, TOPICS

# Faults and the Silver reason code each one must produce.
FAULT_REASONS = {
    "malformed_json": Reason.MALFORMED_JSON,
    "null_username": Reason.MISSING_FIELD,
    "negative_count": Reason.NEGATIVE_COUNT,
    "unknown_platform": Reason.UNKNOWN_PLATFORM,
    "duplicate": None,  # a valid record sent twice: collapsed by dedup, not quarantined
}
FAULT_KINDS = tuple(FAULT_REASONS)
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DatasetSpec:
    profiles: int = 1000
    videos_per_profile: float = 3.0
    comments_per_video: float = 1.5
    bad_fraction: float = 0.0
    bot_fraction: float = 0.25
    # bots behind a bought, aged account: authentic-looking features, bot label (the model cannot be perfect)
    disguised_bot_fraction: float = 0.15
    seed: int = 42
    platforms: tuple[str, ...] = PLATFORMS
    now: datetime = EPOCH
    first_index: int = 0  # profile numbers (and so KOL ids) start here: chunks of one big dataset


@dataclass
class Record:
    topic: str
    key: bytes
    value: bytes
    fault: str | None = None


@dataclass
class Dataset:
    spec: DatasetSpec
    records: dict[str, list[Record]] = field(default_factory=dict)  # entity -> records
    labels: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {TOPICS[e]: len(rs) for e, rs in self.records.items()}

    def faults(self, entity: str | None = None) -> Counter:
        entities = [entity] if entity else list(self.records)
        return Counter(r.fault for e in entities for r in self.records[e] if r.fault)

    def all_records(self) -> Iterator[Record]:
        for records in self.records.values():
            yield from records

    def manifest(self) -> dict:
        return {
            "spec": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.spec.__dict__.items()},
            "records": self.counts(),
            "faults": {e: dict(self.faults(e)) for e in self.records},
            "bots": sum(1 for lab in self.labels if lab["label"] == "bot"),
        }


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=1 << 20)
def _ago(now: datetime, unit: str, amount: int) -> str:
    """``now`` minus ``amount`` ``unit`` (days, hours, minutes, seconds) as ISO-8601: few distinct values per
    dataset (a week of minutes), so cached; formatting them was a fifth of generating 1M profiles."""
    return _iso(now - timedelta(**{unit: amount}))


def generate(spec: DatasetSpec) -> Dataset:
    """The dataset of ``spec``. Python's cyclic garbage collector is paused meanwhile: the millions of dicts
    it builds hold no cycles, and scanning them again and again cost a fifth of the time at 100,000 profiles
    (more at 1,000,000)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(spec)
    finally:
        if was_enabled:
            gc.enable()


CHUNK_PROFILES = 100_000  # a chunk's records take ~2 GB in Python: 1,000,000 profiles at once would take 20


def generate_chunks(spec: DatasetSpec, chunk_profiles: int = CHUNK_PROFILES) -> Iterator[Dataset]:
    """``spec``'s profiles (with their videos and comments) as datasets of at most ``chunk_profiles``
    profiles each, so a producer holds one chunk at a time. Up to ``chunk_profiles`` this is exactly
    ``generate(spec)``; each further chunk draws from its own seed and numbers its KOLs on."""
    for start in range(0, spec.profiles, chunk_profiles):
        seed = spec.seed if start == 0 else hash((spec.seed, start)) & 0xFFFF_FFFF
        yield generate(replace(spec, profiles=min(chunk_profiles, spec.profiles - start), seed=seed,
                               first_index=spec.first_index + start))


def merged_manifest(manifests: list[dict]) -> dict:
    """One manifest for the chunks of a dataset: record, fault and bot counts summed."""
    out = {"spec": manifests[0]["spec"], "records": Counter(), "faults": {}, "bots": 0}
    for m in manifests:
        out["records"].update(m["records"])
        out["bots"] += m["bots"]
        for entity, faults in m["faults"].items():
            out["faults"].setdefault(entity, Counter()).update(faults)
    return {**out, "records": dict(out["records"]), "faults": {e: dict(f) for e, f in out["faults"].items()}}


def _generate(spec: DatasetSpec) -> Dataset:
    rng = np.random.default_rng(spec.seed)
    ds = Dataset(spec=spec)
    profiles, labels = _profiles(spec, rng)
    videos = _videos(spec, rng, profiles)
    comments = _comments(spec, rng, videos)
    ds.labels = labels
    for entity, rows, key_fields in (
        ("profiles", profiles, ("platform", "kol_id")),
        ("videos", videos, ("platform", "video_id")),
        ("comments", comments, ("platform", "comment_id")),
    ):
        ds.records[entity] = _inject_faults(entity, rows, key_fields, spec, rng)
    return ds


def _profiles(spec: DatasetSpec, rng: np.random.Generator):
    n = spec.profiles
    is_bot = rng.random(n) < spec.bot_fraction
    # drawn from its own stream, so the rest of a seed's dataset does not move with this knob
    disguised = np.random.default_rng([spec.seed, 1]).random(n) < spec.disguised_bot_fraction
    label_is_bot, is_bot = is_bot, is_bot & ~disguised  # from here on: whether it *looks* like a bot
    platform_idx = rng.integers(0, len(spec.platforms), n)
    followers = np.where(is_bot, rng.lognormal(7.5, 1.6, n), rng.lognormal(10.0, 2.0, n)).astype(np.int64)
    following = np.where(
        is_bot, followers * rng.lognormal(0.8, 0.7, n) + rng.integers(200, 3000, n),
        rng.lognormal(5.5, 1.2, n),
    ).astype(np.int64)
    posts = np.where(is_bot, rng.lognormal(2.0, 1.0, n), rng.lognormal(4.5, 1.0, n)).astype(np.int64)
    likes_per_follower = np.where(is_bot, rng.lognormal(-2.5, 1.2, n), rng.lognormal(1.5, 1.0, n))
    favorites = (followers * likes_per_follower).astype(np.int64)
    age_days = np.where(is_bot, rng.integers(5, 400, n), rng.integers(90, 3650, n))
    verified = np.where(is_bot, rng.random(n) < 0.01, rng.random(n) < 0.05 + 0.4 * (followers > 1_000_000))
    has_bio = np.where(is_bot, rng.random(n) < 0.3, rng.random(n) < 0.9)
    has_url = np.where(is_bot, rng.random(n) < 0.1, rng.random(n) < 0.5)
    has_image = np.where(is_bot, rng.random(n) < 0.6, rng.random(n) < 0.98)
    bio_len = rng.integers(10, 160, n)
    update_lag = rng.integers(0, 3 * 86400, n)

    profiles, labels = [], []
    for i in range(n):
        platform = spec.platforms[platform_idx[i]]
        number = spec.first_index + i
        kol_id = f"{platform[:2]}_{number:07d}"
        name = f"{'Bot' if is_bot[i] else 'Creator'}_{number:07d}"
        profiles.append({
            "kol_id": kol_id,
            "platform": platform,
            # raw usernames are messy on purpose: Silver trims and lower-cases them
            "username": f" {name} " if i % 7 == 0 else name,
            "display_name": name.replace("_", " "),
            "followers_count": int(followers[i]),
            "following_count": int(following[i]),
            "post_count": int(posts[i]),
            "favorites_count": int(favorites[i]),
            "verified": bool(verified[i]),
            "bio": ("x" * int(bio_len[i])) if has_bio[i] else "",
            "url": f"https://example.com/{kol_id}" if has_url[i] else None,
            "profile_image_url": f"https://img.example.com/{kol_id}.jpg" if has_image[i] else None,
            "created_at": _ago(spec.now, "days", int(age_days[i])),
            "updated_at": _ago(spec.now, "seconds", int(update_lag[i])),
        })
        labels.append({"platform": platform, "kol_id": kol_id, "label": "bot" if label_is_bot[i] else "authentic"})
    return profiles, labels


def _videos(spec: DatasetSpec, rng: np.random.Generator, profiles: list[dict]):
    counts = rng.poisson(spec.videos_per_profile, len(profiles))
    videos = []
    for p, k in zip(profiles, counts, strict=True):
        if not k:
            continue
        reach = max(p["followers_count"], 10)
        views = (reach * rng.lognormal(-1.0, 1.2, k)).astype(np.int64)
        like_rate = rng.beta(2, 30, k)
        age_h = rng.integers(1, 24 * 30, k)
        for j in range(k):
            v = int(views[j])
            likes = int(v * like_rate[j])
            videos.append({
                "video_id": f"{p['kol_id']}_v{j:03d}",
                "kol_id": p["kol_id"],
                "platform": p["platform"],
                "views": v,
                "likes": likes,
                "comments": int(likes * 0.05),
                "shares": int(likes * 0.02),
                "duration_s": int(rng.integers(5, 600)),
                "published_at": _ago(spec.now, "hours", int(age_h[j])),
            })
    return videos


def _comments(spec: DatasetSpec, rng: np.random.Generator, videos: list[dict]):
    counts = rng.poisson(spec.comments_per_video, len(videos))
    comments = []
    for v, k in zip(videos, counts, strict=True):
        for j in range(int(k)):
            comments.append({
                "comment_id": f"{v['video_id']}_c{j:03d}",
                "video_id": v["video_id"],
                "kol_id": v["kol_id"],
                "platform": v["platform"],
                "text": "great video" if j % 3 else "🔥 love it",
                "likes": int(rng.geometric(0.2)) - 1,
                "created_at": _ago(spec.now, "minutes", int(rng.integers(1, 60 * 24 * 7))),
            })
    return comments


def _inject_faults(entity, rows, key_fields, spec: DatasetSpec, rng: np.random.Generator) -> list[Record]:
    topic = TOPICS[entity]
    n_bad = int(round(len(rows) * spec.bad_fraction))
    fault_of = {}
    if n_bad:
        victims = rng.choice(len(rows), size=min(n_bad, len(rows)), replace=False)
        for k, idx in enumerate(victims):
            fault_of[int(idx)] = FAULT_KINDS[k % len(FAULT_KINDS)]
    count_field = {"profiles": "followers_count", "videos": "views", "comments": "likes"}[entity]
    name_field = {"profiles": "username", "videos": "video_id", "comments": "comment_id"}[entity]
    records = []
    for i, row in enumerate(rows):
        key = ":".join(str(row[f]) for f in key_fields).encode()
        fault = fault_of.get(i)
        if fault == "null_username":
            row = {**row, name_field: None}
        elif fault == "negative_count":
            row = {**row, count_field: -abs(row[count_field]) - 1}
        elif fault == "unknown_platform":
            row = {**row, "platform": "myspace"}
        value = orjson.dumps(row)  # compact, UTF-8
        if fault == "malformed_json":
            value = value[: max(1, len(value) // 2)]  # truncated mid-document
        records.append(Record(topic, key, value, fault if fault != "duplicate" else None))
        if fault == "duplicate":
            records.append(Record(topic, key, value, "duplicate"))
    return records
