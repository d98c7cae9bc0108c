"""Redis hot path: publish 100,000 and 1,000,000 KOL profiles (versioned, pipelined, atomic switch).

Baseline in the same run, same server: ``redis-benchmark`` pipelined SET
(-P 1000, one client), the fastest a client can write single keys. Ratio =
our profiles/s over its SETs/s (each profile is a hash of 15 fields plus its
share of the sorted set and list). Target: 100k profiles in < 2 s. Timed from
an Arrow table (what ``read_gold`` returns) in steady state: the publish also
unlinks the version before the current one (n more keys).
"""

from __future__ import annotations

import csv
import io
import subprocess

import pyarrow as pa

from bench.common import embedded_stack, timed

TARGET_100K_S = 2.0


def gold_rows(n: int) -> list[dict]:
    return [{"platform": ("tiktok", "youtube")[i % 2], "kol_id": f"kol_{i:07d}", "username": f"creator_{i}",
             "followers_count": 1000 + 7 * i, "favorites_count": 13 * i, "following_count": 100 + i % 977,
             "post_count": i % 500, "video_count": i % 40, "engagement_rate": (i % 1000) / 1e4,
             "trending_score": (i * 37) % 10_000 / 100, "success_score": (i * 53) % 10_000 / 100,
             "trust_score": 20 + (i * 71) % 8_000 / 100, "final_score": 50.0, "tier": "micro",
             "trust_model_version": 1} for i in range(n)]


def redis_benchmark_set_rate(port: int, requests: int = 1_000_000) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests), "-P", "1000",
                          "-c", "1", "--csv"], capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    return float(rows[0]["rps"])


def run(sizes=(100_000, 1_000_000)) -> dict:
    from lakehouse.serving.redis_publish import publish, redis_client

    result = {}
    with embedded_stack() as (settings, _):
        port = int(settings.redis_url.rsplit(":", 1)[1].split("/")[0])
        baseline = redis_benchmark_set_rate(port)
        redis_client(settings).flushall()
        result["redis_benchmark_set_rps"] = round(baseline)
        for n in sizes:
            rows = pa.Table.from_pylist(gold_rows(n))  # what read_gold hands over: Arrow from Iceberg
            publish(rows, settings)  # steady state: a current and a previous version exist, so the
            publish(rows, settings)  # timed publish also unlinks one version of n profiles
            seconds, out = timed(publish, rows, settings)
            rate = n / seconds
            result[f"publish_{n // 1000}k_s"] = round(seconds, 3)
            result[f"publish_{n // 1000}k_profiles_per_s"] = round(rate)
            result[f"ratio_{n // 1000}k_vs_redis_benchmark_set"] = round(rate / baseline, 4)
            result[f"removed_keys_{n // 1000}k"] = out["removed_keys"]
            redis_client(settings).flushall()
    result["target_100k_s"] = TARGET_100K_S
    result["meets_target"] = result.get("publish_100k_s", 0) < TARGET_100K_S
    return result
