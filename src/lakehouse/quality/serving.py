"""Checks of the Redis hot path: what readers see (the published version) against Gold, per platform.

- freshness: the published version was built from Gold's current data snapshot;
- entries: hashes and the final-score sorted set hold one entry per Gold row, the
  trending sorted set one per active Gold row, the list the top ``serving_list_size``;
- the test plan's content checks where the plan reads them: the ranking rule
  (PROD-002.1: >= 80 % distinct, a range >= 10) on the top 50 of the trending
  sorted set, as the dashboard's trending list reads it; on the list, trending
  scores 0-100, follower counts >= 80 % distinct (PROD-005: no placeholders),
  and every final score equal to :func:`lakehouse.core.scoring.final_score` within 1e-6.

:func:`hot_path_checks` is the one entry point (nightly run and e2e report).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.names import GOLD_SUMMARY_TABLE, PLATFORMS
from lakehouse.core.scoring import FORMULA, MIN_DISTINCT, TOP_LIST_SIZE, final_score, ranking_checks
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import data_snapshot_id, table_or_none
from lakehouse.serving.redis_publish import (
    current_version,
    published_counts,
    published_source,
    read_published,
    redis_client,
    trending_key,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

FORMULA_TOLERANCE = 1e-6


def expected_final(row: dict[str, Any]) -> float:
    trust = row.get("trust_score")
    return final_score(row["trending_score"], row["success_score"], None if trust in (None, "") else trust)


def listing_checks(platform: str, listing: list[dict[str, Any]], version: int | None,
                   top_trending: list[float]) -> list[CheckResult]:
    """The published list's content and the ranking rule on ``top_trending`` (the trending list's top
    scores, highest first)."""
    table = f"redis:v{version}"
    if not listing:
        return [CheckResult(f"redis.published.{platform}", "serving", table, Status.FAIL, 0, "> 0 KOLs",
                            "nothing published for this platform")]
    n = len(listing)
    trending = [r["trending_score"] for r in listing]
    followers = [r["followers_count"] for r in listing]
    off_formula = [r["kol_id"] for r in listing if abs(r["final_score"] - expected_final(r)) > FORMULA_TOLERANCE]
    return [
        CheckResult(f"redis.trending_in_range.{platform}", "serving", table,
                    Status.PASS if all(0 <= t <= 100 for t in trending) else Status.FAIL,
                    f"{min(trending)}..{max(trending)}", "within 0..100"),
        *ranking_checks("redis.top_trending", platform, "serving", table, top_trending,
                        f"top {TOP_LIST_SIZE} of {trending_key(platform)}"),
        compare(f"redis.followers_distinct.{platform}", "serving", table, round(len(set(followers)) / n, 4),
                MIN_DISTINCT, op=">=", details=f"follower counts of the {n} listed KOLs are real values, "
                                              "not placeholders"),
        CheckResult(f"redis.final_score_formula.{platform}", "serving", table,
                    Status.FAIL if off_formula else Status.PASS, n - len(off_formula), f"== {n} within 1e-6",
                    FORMULA + (f"; off: {off_formula[:20]}" if off_formula else "")),
    ]


def serving_checks(settings: Settings, platforms: Iterable[str] = PLATFORMS) -> list[CheckResult]:
    """The content checks of the published list and trending ranking, per platform."""
    client = redis_client(settings)
    out = []
    for platform in platforms:
        version, listing = read_published(settings, platform)
        top = client.zrevrange(trending_key(platform, version), 0, TOP_LIST_SIZE - 1, withscores=True)
        out += listing_checks(platform, listing, version,  # redis-py types withscores=True pairs as members
                              [float(score) for _, score in top])  # type: ignore[str-unpack]
    return out


def redis_vs_gold(catalog: Catalog, redis_counts: dict[str, Any], list_size: int) -> list[CheckResult]:
    """Redis entries = Gold rows, per platform: hashes and final ranking all rows, trending ranking the
    active rows, the list the top ``list_size``."""
    gold = table_or_none(catalog, GOLD_SUMMARY_TABLE)
    rows, active = {}, {}
    if gold is not None and gold.current_snapshot() is not None:
        have = {f.name for f in gold.schema().fields}
        data = gold.scan(selected_fields=tuple(f for f in ("platform", "trending_reason") if f in have)).to_arrow()
        rows = _per_platform(data)
        if "trending_reason" in data.column_names:
            data = data.filter(pc.is_null(data.column("trending_reason")))
        active = _per_platform(data)
    results = []
    for platform in PLATFORMS:
        seen = redis_counts.get(platform, {})
        expected = {"list": min(list_size, rows.get(platform, 0)), "trending": active.get(platform, 0),
                    "final": rows.get(platform, 0), "profiles": rows.get(platform, 0)}
        for kind, n in expected.items():
            results.append(compare(f"redis_vs_gold.{platform}.{kind}", "serving", f"redis:{kind}",
                                   seen.get(kind, 0), n, details=f"{platform} {kind} entries vs Gold rows"))
    return results


def _per_platform(table: pa.Table) -> dict[str, int]:
    return {v["values"]: v["counts"] for v in pc.value_counts(table.column("platform")).to_pylist()}


def redis_freshness(catalog: Catalog, source: dict[str, Any]) -> CheckResult:
    """``kol:meta``'s Gold snapshot is Gold ``main``'s current data snapshot (maintenance commits aside):
    a transform that published Gold but not Redis leaves the hot path stale, and this says so."""
    gold = table_or_none(catalog, GOLD_SUMMARY_TABLE)
    head = gold.current_snapshot() if gold is not None else None
    current = data_snapshot_id(gold, head.snapshot_id) if gold is not None and head is not None else None
    published = source.get("gold_snapshot_id")
    if published is not None and gold is not None and gold.snapshot_by_id(published) is not None:
        published = data_snapshot_id(gold, published)
    return compare("redis_freshness", "serving", "redis:kol:meta", published, current,
                   details="Gold snapshot the published version was built from vs Gold main's current one")


def hot_path_checks(settings: Settings, redis_counts: dict[str, Any] | None = None) -> list[CheckResult]:
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
    return ([redis_freshness(catalog, published_source(settings))]
            + redis_vs_gold(catalog, counts, settings.serving_list_size) + serving_checks(settings))
