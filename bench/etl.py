"""Bronze -> Silver -> Gold: full rebuild vs incremental (1 % new data), in one warm Spark session.

Bronze is filled straight from datagen (pyiceberg appends with Kafka-like
offsets), bypassing the broker. Target: incremental / full <= 0.15.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pyarrow as pa

from bench.common import spark_lake, timed
from lakehouse.config import Settings
from lakehouse.core.names import KAFKA_RANGES as SUMMARY_RANGES
from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.iceberg.bookkeeping import recorded_state
from lakehouse.iceberg.catalog import get_catalog, reset_lake
from lakehouse.ingest.bronze_table import ARROW_SCHEMA, ensure_bronze_table

TARGET_RATIO = 0.15


def append_bronze(table, topic: str, keys: list, values: list) -> int:
    """One Bronze commit of ``values`` as partition 0, continuing the table's offsets, with its bookkeeping."""

    state = recorded_state(table)
    start, n = state.next.get(0, 0), len(values)
    after = replace(state, first={0: state.first.get(0, start)}, next={0: start + n})
    table.append(bronze_rows(topic, start, keys, values),
                 snapshot_properties={SUMMARY_RANGES: json.dumps({"0": [start, start + n - 1]}), **after.to_summary()})
    return n


def bronze_rows(topic: str, start: int, keys: list, values: list) -> pa.Table:
    """Bronze rows of ``values`` at partition 0, offsets ``start`` on, as ingest writes them (epoch 0)."""
    from datetime import UTC, datetime

    n, now = len(values), datetime.now(UTC)
    return pa.Table.from_pydict({
        "topic": [topic] * n, "kafka_partition": [0] * n, "kafka_offset": list(range(start, start + n)),
        "kafka_key": keys, "payload": values, "kafka_timestamp": [now] * n, "ingested_at": [now] * n,
        "batch_id": ["bench"] * n, "kafka_timestamp_ms": [int(now.timestamp() * 1000)] * n, "kafka_epoch": [0] * n,
        "erased_by": [None] * n,
    }, schema=ARROW_SCHEMA)


def load_bronze(settings: Settings, dataset) -> dict[str, int]:
    """Append the dataset to the Bronze tables as partition 0 with contiguous offsets."""
    catalog = get_catalog(settings)
    counts = {}
    for entity, records in dataset.records.items():
        topic = TOPICS[entity]
        counts[topic] = append_bronze(ensure_bronze_table(catalog, topic), topic, [r.key for r in records],
                                      [r.value for r in records])
    return counts


def new_kols(dataset):
    """``dataset`` with the first id of each record renamed, so loading it adds rather than replays: new
    KOLs (profiles), and new videos and comments, which keep their KOL's id, i.e. land on known KOLs."""
    for records in dataset.records.values():
        for r in records:
            r.value = r.value.replace(b'_0', b'_9', 1)
            r.key = r.key.replace(b'_0', b'_9', 1)
    return dataset


def transform(spark, run_id: str, full_rebuild: bool) -> dict:
    """Silver then Gold, timed, with the phases of each (seconds and Spark jobs: where an increment's time goes)."""
    from lakehouse.jobs.transform import build_gold, build_silver
    from lakehouse.spark.phases import PROFILE

    PROFILE.phases.clear()
    silver_s, s = timed(build_silver, spark, run_id=run_id, branch=None, full_rebuild=full_rebuild)
    gold_s, g = timed(build_gold, spark, run_id=run_id, branch=None)
    return {"silver_rows_read": sum(e["bronze_rows"] for e in s["entities"]), "gold_rows": g["rows"],
            "silver_s": round(silver_s, 2), "gold_s": round(gold_s, 2), "phases": PROFILE.to_dict()}


def spec(profiles: int, seed: int) -> DatasetSpec:
    return DatasetSpec(profiles=profiles, videos_per_profile=1.0, comments_per_video=1.0, bad_fraction=0.01,
                       seed=seed)


def run(profiles: int = 1_000_000, small: int = 100_000) -> dict:
    with spark_lake("etl") as (settings, spark):
        # warm-up and the 100k reference run
        load_bronze(settings, generate(spec(small, seed=7)))
        small_s, small_out = timed(transform, spark, "small", True)
        reset_lake(settings)

        base = generate(spec(profiles, seed=1))
        loaded = load_bronze(settings, base)
        del base
        full_s, full_out = timed(transform, spark, "full", True)
        # 1 % new data: new KOLs with their videos and comments, appended as new Bronze snapshots
        load_bronze(settings, new_kols(generate(spec(profiles // 100, seed=2))))
        inc_s, inc_out = timed(transform, spark, "incremental", False)
    ratio = round(inc_s / full_s, 3)
    return {
        "profiles": profiles,
        "bronze_rows": loaded,
        "full_rebuild_s": round(full_s, 2),
        "full_rebuild": full_out,
        "incremental_1pct_s": round(inc_s, 2),
        "incremental": inc_out,
        "ratio_incremental_over_full": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        f"full_rebuild_{small // 1000}k_s": round(small_s, 2),
        f"full_rebuild_{small // 1000}k": small_out,
    }
