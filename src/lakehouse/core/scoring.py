"""The score rule of the test plan, written once: Gold computes it, serving checks it, reports print it."""

from __future__ import annotations

from lakehouse.core.checks import CheckResult, Status, compare

WEIGHTS = {"trending": 0.40, "success": 0.35, "trust": 0.25}
FORMULA = " + ".join(f"{w:.2f} {name}" for name, w in WEIGHTS.items())  # "0.40 trending + ..."
TIERS = ((10_000, "nano"), (100_000, "micro"), (500_000, "mid"), (1_000_000, "macro"))
TOP_TIER = "mega"


def final_score(trending: float, success: float, trust: float | None) -> float:
    """``0.40 trending + 0.35 success + 0.25 trust``; without a trust score the other weights renormalize."""
    if trust is None:
        return (WEIGHTS["trending"] * trending + WEIGHTS["success"] * success) / (
            WEIGHTS["trending"] + WEIGHTS["success"])
    return WEIGHTS["trending"] * trending + WEIGHTS["success"] * success + WEIGHTS["trust"] * trust


# The test plan's ranking rule (PROD-002.1), applied where the plan applies it: to the top of a ranking a
# reader sees (the dashboard's trending list), per platform.
TOP_LIST_SIZE = 50
MIN_DISTINCT = 0.8
MIN_RANGE = 10.0


def ranking_checks(prefix: str, platform: str, layer: str, table: str, top_scores: list[float],
                   what: str) -> list[CheckResult]:
    """``<prefix>_distinct`` (>= 80 % unique) and ``<prefix>_range`` (>= 10 points) of the top of a ranking,
    highest first; SKIP with fewer than two scores (no ranking to judge)."""
    n = len(top_scores)
    if n < 2:
        return [CheckResult(f"{prefix}_{kind}.{platform}", layer, table, Status.SKIP, n, ">= 2 ranked KOLs",
                            f"{what}: nothing to rank") for kind in ("distinct", "range")]
    spread = round(max(top_scores) - min(top_scores), 4)
    return [compare(f"{prefix}_distinct.{platform}", layer, table, round(len(set(top_scores)) / n, 4),
                    MIN_DISTINCT, op=">=", details=f"{len(set(top_scores))} distinct of the {what}"),
            compare(f"{prefix}_range.{platform}", layer, table, spread, MIN_RANGE, op=">=",
                    details=f"highest - lowest of the {what}")]
