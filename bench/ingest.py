"""Kafka -> Bronze ingestion vs a raw confluent-kafka consumer on the same broker and topic.

Target: ingest time <= 1.25 x raw consume time for 100,000 profile messages.
Also: 1,000 records produced -> committed in Bronze (test plan: < 60 s).
"""

from __future__ import annotations

import time

from bench.common import embedded_stack, median, timed, write_result
from lakehouse import kafka
from lakehouse.core.names import TOPICS
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import reset_lake
from lakehouse.ingest.consumer import ingest_topic

TOPIC = TOPICS["profiles"]
TARGET_RATIO = 1.25


def raw_consume(settings) -> int:
    """The baseline: read every message of the topic to the end of each partition, touch its bytes."""
    from confluent_kafka import KafkaError, TopicPartition

    consumer = kafka.consumer("bench-raw", settings, **{"fetch.max.bytes": 64 * 1024 * 1024})
    try:
        parts = sorted(consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions)
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in parts])
        active, count, nbytes = set(parts), 0, 0
        while active:
            for msg in consumer.consume(10_000, 1.0):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        active.discard(msg.partition())
                    continue
                count += 1
                nbytes += len(msg.value() or b"")
        return count
    finally:
        consumer.close()


def run(messages: int = 100_000, repeats: int = 3) -> dict:
    records = generate(DatasetSpec(profiles=messages, videos_per_profile=0, seed=1)).records["profiles"]
    with embedded_stack() as (settings, manager):
        produce_records(records, settings)
        raw_s, ingest_s = [], []
        for _ in range(repeats):  # interleaved, so drift hits both sides alike
            seconds, count = timed(raw_consume, settings)
            assert count == len(records), (count, len(records))
            raw_s.append(seconds)
            reset_lake(settings)
            seconds, result = timed(ingest_topic, TOPIC, settings, log=lambda *_: None)
            assert result.rows == len(records), (result.rows, len(records))
            ingest_s.append(seconds)
        ratio = round(median(ingest_s) / median(raw_s), 3)

        # 1,000 records end to end: produce, then ingest until committed in Bronze.
        manager.down(log=lambda *_: None)
        manager.up(log=lambda *_: None)  # fresh in-memory broker
        reset_lake(settings)
        small = generate(DatasetSpec(profiles=1000, videos_per_profile=0, seed=2)).records["profiles"]
        started = time.perf_counter()
        produce_records(small, settings)
        committed = ingest_topic(TOPIC, settings, log=lambda *_: None).rows
        e2e_1000 = round(time.perf_counter() - started, 3)
        assert committed == 1000

    return {
        "messages": len(records),
        "raw_consume_s": [round(s, 3) for s in raw_s],
        "ingest_s": [round(s, 3) for s in ingest_s],
        "raw_msgs_per_s": round(len(records) / median(raw_s)),
        "ingest_records_per_s": round(len(records) / median(ingest_s)),
        "ratio_ingest_over_raw": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "e2e_1000_records_s": e2e_1000,
        "e2e_1000_target_s": 60,
    }


if __name__ == "__main__":
    print(write_result("ingest", run()))
