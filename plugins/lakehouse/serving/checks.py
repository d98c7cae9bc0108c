"""Checks of what readers see in Redis (the published version), per platform.

Entries = Gold rows is in :func:`lakehouse.quality.counts.check_layer_counts`;
these are the test plan's content checks: trending scores 0-100 with >= 80 %
distinct and a range > 10, follower counts >= 80 % distinct (no placeholders),
and every final score equal to the formula within 1e-6.
"""

from __future__ import annotations

from lakehouse.config import PLATFORMS, Settings
from lakehouse.etl.gold import WEIGHTS
from lakehouse.quality.results import CheckResult, Status, compare

MIN_DISTINCT = 0.8
MIN_RANGE = 10.0
FORMULA_TOLERANCE = 1e-6


def expected_final(row: dict) -> float:
    trending, success, trust = (row.get(k) for k in ("trending_score", "success_score", "trust_score"))
    if trust in (None, ""):
        return (WEIGHTS["trending"] * trending + WEIGHTS["success"] * success) / (WEIGHTS["trending"]
                                                                                + WEIGHTS["success"])
    return WEIGHTS["trending"] * trending + WEIGHTS["success"] * success + WEIGHTS["trust"] * trust


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
                    "0.40 trending + 0.35 success + 0.25 trust"
                    + (f"; off: {off_formula[:20]}" if off_formula else "")),
    ]


def serving_checks(settings: Settings, platforms=PLATFORMS) -> list[CheckResult]:
    from lakehouse.serving.redis_publish import read_published

    out = []
    for platform in platforms:
        version, listing = read_published(settings, platform)
        out += listing_checks(platform, listing, version)
    return out
