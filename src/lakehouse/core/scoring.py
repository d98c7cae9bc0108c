"""The score rule of the test plan, written once: Gold computes it, serving checks it, reports print it."""

from __future__ import annotations

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
