"""Checks of the Redis hot path: what readers see (the published version) against Gold, per platform.

- freshness: the published version was built from Gold's current data snapshot;
- entries: list, sorted set and hashes each hold one entry per Gold row;
- the test plan's content checks: trending scores 0-100 with >= 80 % distinct
  and a range > 10, follower counts >= 80 % distinct (no placeholders), and
  every final score equal to :func:`lakehouse.core.scoring.final_score` within 1e-6.

:func:`hot_path_checks` is the one entry point (nightly run and e2e report).
"""

from __future__ import annotations

import pyarrow.compute as pc

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.names import GOLD_SUMMARY_TABLE, PLATFORMS
from lakehouse.core.scoring import FORMULA, final_score
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import data_snapshot_id, table_or_none
from lakehouse.serving.redis_publish import (
    current_version,
    published_counts,
    published_source,
    read_published,
    redis_client,
)

MIN_DISTINCT = 0.8
MIN_RANGE = 10.0
FORMULA_TOLERANCE = 1e-6


def expected_final(row: dict) -> float:
    trust = row.get("trust_score")
    return final_score(row["trending_score"], row["success_score"], None if trust in (None, "") else trust)


def listing_checks(platform: str, listing: list[dict], version) -> list[CheckResult]:
    table = f"redis:v{version}"
    if not listing:
        return [CheckResult(f"redis.published.{platform}", "serving", table, Status.FAIL, 0, "> 0 KOLs",
                            "nothing published for this platform")]
    n = len(listing)
    trending = [r["trending_score"] for r in listing]
    followers = [r["followers_count"] for r in listing]
    off_formula = [r["kol_id"] for r in listing if abs(r["final_score"] - expected_final(r)) > FORMULA_TOLERANCE]
    spread = round(max(trending) - min(trending), 4)
    return [
        CheckResult(f"redis.trending_in_range.{platform}", "serving", table,
                    Status.PASS if all(0 <= t <= 100 for t in trending) else Status.FAIL,
                    f"{min(trending)}..{max(trending)}", "within 0..100"),
        compare(f"redis.trending_distinct.{platform}", "serving", table, round(len(set(trending)) / n, 4),
                MIN_DISTINCT, op=">=", details=f"{len(set(trending))} distinct of {n}"),
        CheckResult(f"redis.trending_range.{platform}", "serving", table,
                    Status.PASS if spread > MIN_RANGE else Status.FAIL, spread, f"> {MIN_RANGE}"),
        compare(f"redis.followers_distinct.{platform}", "serving", table, round(len(set(followers)) / n, 4),
                MIN_DISTINCT, op=">=", details="follower counts are real values, not placeholders"),
        CheckResult(f"redis.final_score_formula.{platform}", "serving", table,
                    Status.FAIL if off_formula else Status.PASS, n - len(off_formula), f"== {n} within 1e-6",
                    FORMULA + (f"; off: {off_formula[:20]}" if off_formula else "")),
    ]


def serving_checks(settings: Settings, platforms=PLATFORMS) -> list[CheckResult]:
    """The content checks of the published listing, per platform."""
    out = []
    for platform in platforms:
        version, listing = read_published(settings, platform)
        out += listing_checks(platform, listing, version)
    return out


def redis_vs_gold(catalog, redis_counts: dict) -> list[CheckResult]:
    """Redis entries (list, sorted set, hashes) = Gold rows, per platform."""
    gold = table_or_none(catalog, GOLD_SUMMARY_TABLE)
    per_platform = {}
    if gold is not None and gold.current_snapshot() is not None:
        platforms = gold.scan(selected_fields=("platform",)).to_arrow().column("platform")
        per_platform = {v["values"]: v["counts"] for v in pc.value_counts(platforms).to_pylist()}
    results = []
    for platform in PLATFORMS:
        seen = redis_counts.get(platform, {})
        expected = per_platform.get(platform, 0)
        for kind in ("list", "trending", "profiles"):
            results.append(compare(f"redis_vs_gold.{platform}.{kind}", "serving", f"redis:{kind}",
                                   seen.get(kind, 0), expected, details=f"{platform} {kind} entries vs Gold rows"))
    return results


def redis_freshness(catalog, source: dict) -> CheckResult:
    """``kol:meta``'s Gold snapshot is Gold ``main``'s current data snapshot (maintenance commits aside):
    a transform that published Gold but not Redis leaves the hot path stale, and this says so."""
    gold = table_or_none(catalog, GOLD_SUMMARY_TABLE)
    head = gold.current_snapshot() if gold is not None else None
    current = data_snapshot_id(gold, head.snapshot_id) if head is not None else None
    published = source.get("gold_snapshot_id")
    if published is not None and gold is not None and gold.snapshot_by_id(published) is not None:
        published = data_snapshot_id(gold, published)
    return compare("redis_freshness", "serving", "redis:kol:meta", published, current,
                   details="Gold snapshot the published version was built from vs Gold main's current one")


def hot_path_checks(settings: Settings, redis_counts: dict | None = None) -> list[CheckResult]:
    """Entries vs Gold and the content checks; FAIL when Redis is down, SKIP before anything was published.

    ``redis_counts``: :func:`~lakehouse.serving.redis_publish.published_counts` already taken by the caller.
    """
    try:
        version = current_version(redis_client(settings))
    except Exception as exc:  # the hot path is down: that is the finding
        return [CheckResult("redis.reachable", "serving", "redis", Status.FAIL, None, "reachable",
                            f"{type(exc).__name__}: {exc}")]
    if version is None:
        return [CheckResult("redis.published", "serving", "redis", Status.SKIP, None, "a published version",
                            "nothing has been published to Redis yet")]
    counts = redis_counts if redis_counts is not None else published_counts(settings, PLATFORMS)
    catalog = get_catalog(settings)
    return ([redis_freshness(catalog, published_source(settings))] + redis_vs_gold(catalog, counts)
            + serving_checks(settings))
