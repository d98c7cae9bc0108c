"""`make bench erasure`: erase 10 subjects as ``kol_erasure`` does (one spark-submit), on a 10,000-profile lake
(the baseline) and a 1,000,000-profile lake (``BENCH_ERASURE_LAKES``).

Per lake: the job's wall time, its phases, the data files and bytes it rewrote (from each table's
``erasure.purge`` row) against the lake's data files and bytes before — the share of the lake rewritten —
and the proof's verdict. Redis holds the published Gold and a broker runs, as in production.

Goals: <= 5 minutes at 1M on 2 cores; the rewrite touches only files that held a subject's rows.
"""

from __future__ import annotations

import json
import os

from bench.transform import built_lake, submitted
from lakehouse.config import Settings
from lakehouse.core.names import GOLD_SUMMARY_TABLE
from lakehouse.etl.erasure import PURGED_TABLES

SUBJECTS = 10
GOAL_1M_SECONDS = 300.0


def lake_sizes() -> list[int]:
    return [int(s) for s in os.environ.get("BENCH_ERASURE_LAKES", "10000,1000000").split(",") if s]


def lake_files(settings: Settings) -> dict[str, int]:
    """Data files and bytes of every table an erasure may rewrite, from ``main``'s summary."""
    from lakehouse.iceberg.catalog import get_catalog
    from lakehouse.iceberg.snapshots import summary, table_or_none

    catalog, files, size = get_catalog(settings), 0, 0
    for name in PURGED_TABLES:
        table = table_or_none(catalog, name)
        s = summary(table.current_snapshot()) if table is not None else {}
        files += int(s.get("total-data-files", 0))
        size += int(s.get("total-files-size", 0))
    return {"data_files": files, "bytes": size}


def subjects(settings: Settings, n: int = SUBJECTS) -> list[str]:
    """``n`` KOLs spread over the lake (every k-th Gold row by kol id)."""
    from lakehouse.iceberg.catalog import get_catalog

    gold = get_catalog(settings).load_table(GOLD_SUMMARY_TABLE)
    rows = sorted(gold.scan(selected_fields=("platform", "kol_id")).to_arrow().to_pylist(), key=lambda r: r["kol_id"])
    step = max(len(rows) // n, 1)
    return [f"{r['platform']}:{r['kol_id']}" for r in rows[::step][:n]]


def erase(settings: Settings, request_id: str) -> dict:
    """The erasure job through spark-submit, as the operator runs it."""
    params = {"subjects": subjects(settings), "request_id": request_id, "reason": "benchmark"}
    args = ["--dag-id", "kol_erasure", "--run-id", request_id, "--branch", "main", "--params", json.dumps(params)]
    wall, sizing, result = submitted(settings, "erase_subjects", args)
    purge = [c["observed"] for c in result["checks"] if c["check_id"].startswith("erasure.purge.")]
    return {"seconds": round(wall, 2), "sizing": sizing, "phases": result.get("profile", {}).get("phases", {}),
            "rows": result["rows"], "files_rewritten": sum(p["files_rewritten"] for p in purge),
            "bytes_rewritten": sum(p["bytes_rewritten"] for p in purge),
            "failed": [c["check_id"] for c in result["checks"] if c["status"] == "FAIL"]}


def erase_on(profiles: int) -> dict:
    from lakehouse.services.manager import ServiceManager, free_port
    from lakehouse.serving.redis_publish import publish_gold

    with built_lake(profiles) as built:
        settings = built.replace(kafka_bootstrap=f"127.0.0.1:{free_port()}",
                                 redis_url=f"redis://127.0.0.1:{free_port()}/0")
        os.environ.update(settings.to_env())
        manager = ServiceManager(settings, die_with_parent=True)
        manager.up(log=lambda *_: None)
        try:
            publish_gold(settings)
            before = lake_files(settings)
            run = erase(settings, f"bench-{profiles}")
        finally:
            manager.down(log=lambda *_: None)
    run["lake_before"] = before
    run["share_of_bytes_rewritten"] = round(run["bytes_rewritten"] / max(before["bytes"], 1), 4)
    run["share_of_files_rewritten"] = round(run["files_rewritten"] / max(before["data_files"], 1), 4)
    return run


def run() -> dict:
    lakes = {str(p): erase_on(p) for p in lake_sizes()}
    out = {"subjects": SUBJECTS, "lakes": lakes, "goal_1m_s": GOAL_1M_SECONDS}
    small, big = lakes.get("10000"), lakes.get("1000000")
    if big:
        out["meets_1m_goal"] = big["seconds"] <= GOAL_1M_SECONDS and not big["failed"]
    if small and big:
        out["ratio_1m_over_10k"] = round(big["seconds"] / small["seconds"], 3)
    return out
