"""The proof of an erasure: every place a subject's data could live, searched after it was erased.

Each place is a check row ``erasure.<place>`` recorded under the request id; a hit anywhere FAILs the run and
the gate names the place. Details give places and counts, never an identifier: the proof must not become a
copy of what it proves gone.

Places: each table's ``main`` and every snapshot and ref it retains (time travel), the values of every
Parquet file under the warehouse and the state dir, the bytes of every other file under the state dir
(reports, GX results and Data Docs, lineage events, logs, table metadata), Redis (every key's name and
value), and the Kafka topics' retention (the broker keeps the records until it expires them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.core.checks import CheckResult, Status
from lakehouse.core.erasure import (
    REDACTED,
    TOKEN_CHARS,
    ErasureRequest,
    identifier_pattern,
    token_alternatives,
)
from lakehouse.core.names import TOPICS, layer_of
from lakehouse.etl.erasure import TEXT_TABLES, predicate, text_predicate
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import table_or_none
from lakehouse.spark.tables import qualified

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from redis import Redis

# Rewritten in place when they name a subject (a JSON/HTML/text file stays valid: identifiers are replaced
# inside the strings that hold them).
TEXT_SUFFIXES = (".json", ".jsonl", ".html", ".htm", ".log", ".txt", ".csv", ".md", ".xml", ".yml", ".yaml")
# Not searched, and said so in the proof: Airflow's own metadata database (XCom and task history of past
# runs) is purged with ``airflow db clean``.
NOT_SEARCHED = ("airflow/airflow.db", "airflow/airflow.db-journal", "airflow/airflow.db-wal")
MAX_TEXT_BYTES = 256 * 1024 * 1024


def state_files(settings: Settings) -> Iterator[Path]:
    """Every file under the state dir the proof searches (all but :data:`NOT_SEARCHED`)."""
    root = settings.state_dir
    skipped = {root / p for p in NOT_SEARCHED}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path not in skipped and path.is_file():
                yield path


def redact_files(settings: Settings, identifiers: Iterable[str]) -> dict[str, int]:
    """Replace every identifier in the state dir's text files with ``[erased]`` (atomically: a temporary file
    renamed over the original); returns ``{relative path: replacements}``."""
    pattern = identifier_pattern(identifiers)
    done: dict[str, int] = {}
    if pattern is None:
        return done
    for path in state_files(settings):
        if path.suffix.lower() not in TEXT_SUFFIXES or path.stat().st_size > MAX_TEXT_BYTES:
            continue
        data = path.read_bytes()
        redacted, n = pattern.subn(REDACTED.encode(), data)
        if n:
            tmp = path.with_name(f".{path.name}.erasing")
            tmp.write_bytes(redacted)
            os.replace(tmp, path)
            done[str(path.relative_to(settings.state_dir))] = n
    return done


def file_hits(settings: Settings, identifiers: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """``(parquet hits, other file hits)`` as ``{relative path: matches}``: Parquet by its values (every string
    and binary column), any other file by its bytes."""
    identifiers = tuple(identifiers)
    pattern = identifier_pattern(identifiers)
    parquet: dict[str, int] = {}
    other: dict[str, int] = {}
    if pattern is None:
        return parquet, other
    for path in state_files(settings):
        where = str(path.relative_to(settings.state_dir))
        n = parquet_matches(path, identifiers) if path.suffix == ".parquet" else len(pattern.findall(path.read_bytes()))
        if n:
            (parquet if path.suffix == ".parquet" else other)[where] = n
    return parquet, other


def parquet_matches(path: Path, identifiers: Iterable[str]) -> int:
    """Values of a Parquet file's string and binary columns (structs flattened) holding any spelling of an
    identifier as a whole token (a raw payload keeps its JSON escapes)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    identifiers = tuple(identifiers)
    # RE2 has no look-behind: the token's neighbours are matched instead
    regex = f"(^|[^{TOKEN_CHARS}])({token_alternatives(identifiers)})($|[^{TOKEN_CHARS}])"
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError):  # not a readable Parquet file: search its bytes instead
        pattern = identifier_pattern(identifiers)
        return len(pattern.findall(path.read_bytes())) if pattern is not None else 0
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    hits = 0
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_binary(column.type):
            hits += pc.sum(pc.match_substring_regex(column, regex)).as_py() or 0
    return int(hits)


def places_checks(settings: Settings, request: ErasureRequest, identifiers: Iterable[str]) -> list[CheckResult]:
    """The file places of the proof: Parquet values, other files' bytes, and what is not searched."""
    parquet, other = file_hits(settings, identifiers)
    return [
        _hits("erasure.files.parquet", "warehouse", parquet, "values of every Parquet file under the state dir"),
        _hits("erasure.files.state_dir", "state_dir", other,
              "bytes of every other file under the state dir (reports, Data Docs, GX results, lineage, logs, "
              "table metadata)"),
        CheckResult("erasure.files.not_searched", "audit", "airflow", Status.SKIP, len(NOT_SEARCHED), "",
                    "not searched: Airflow's metadata database (XCom and history of past runs): purge it with "
                    "`airflow db clean`"),
    ]


def _hits(check_id: str, table: str, hits: dict[str, int], what: str) -> CheckResult:
    where = ", ".join(f"{p} ({n})" for p, n in sorted(hits.items())[:10])
    return CheckResult(check_id, "audit", table, Status.FAIL if hits else Status.PASS, sum(hits.values()), "== 0",
                       f"{what}: {len(hits)} file(s) name a subject: {where}" if hits else f"{what}: no match")


def table_checks(spark: SparkSession, request: ErasureRequest, identifiers: Iterable[str],
                 tables: Iterable[str]) -> list[CheckResult]:
    """Per table: the subjects' rows on ``main``, then at every retained snapshot and ref (time travel)."""
    catalog = get_catalog()
    results = []
    for name in tables:
        table = table_or_none(catalog, name)
        if table is None:
            continue
        where = text_predicate(name, identifiers) if name in TEXT_TABLES else predicate(name, request.subjects)
        current = spark.table(qualified(name)).where(where).count()
        results.append(CheckResult(f"erasure.rows.{name}", layer_of(name), name, Status.FAIL if current else Status.PASS,
                                   current, "== 0", "rows of the subjects on main"))
        readable = sorted({s.snapshot_id for s in table.snapshots()} | {r.snapshot_id for r in table.refs().values()})
        found = {sid: spark.read.option("snapshot-id", sid).table(qualified(name)).where(where).count()
                 for sid in readable}
        bad = {sid: n for sid, n in found.items() if n}
        results.append(CheckResult(
            f"erasure.history.{name}", layer_of(name), name, Status.FAIL if bad else Status.PASS, sum(bad.values()),
            "== 0", f"{len(readable)} snapshot(s) and {len(table.refs())} ref(s) read as of each"
            + (f": snapshots {sorted(bad)} still return the subjects' rows" if bad else ": none returns them")))
    return results


def redis_check(settings: Settings, identifiers: Iterable[str]) -> CheckResult:
    """Every Redis key (``SCAN``): its name and its value (strings, hashes, lists, sets, sorted sets)."""
    from lakehouse.serving.redis_publish import redis_client

    pattern = identifier_pattern(identifiers)
    client = redis_client(settings)
    keys = hits = 0
    for key in client.scan_iter(count=1000):
        keys += 1
        if pattern is not None and any(pattern.search(part) for part in (key, *_values(client, key))):
            hits += 1
    return CheckResult("erasure.redis", "serving", "redis", Status.FAIL if hits else Status.PASS, hits, "== 0",
                       f"{keys} key(s) scanned, names and values: {hits} name a subject")


def _values(client: Redis, key: bytes) -> list[bytes]:
    """A key's value as the byte strings it holds, whatever its type."""
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    parts: list[Any]
    if kind == "string":
        parts = [client.get(key) or b""]
    elif kind == "hash":
        parts = [b for kv in client.hgetall(key).items() for b in kv]
    elif kind == "list":
        parts = list(client.lrange(key, 0, -1))
    elif kind == "set":
        parts = list(client.smembers(key))
    elif kind == "zset":
        parts = list(client.zrange(key, 0, -1))
    else:
        parts = []
    return [p if isinstance(p, bytes) else str(p).encode() for p in parts]


def kafka_checks(settings: Settings) -> list[CheckResult]:
    """Per raw topic, when the broker will drop the subjects' records (:func:`retention_check` of its configs;
    SKIP when the broker does not describe them). Records delivered again are refused by the ledger either way."""
    from confluent_kafka.admin import ConfigResource  # type: ignore[attr-defined]  # re-exported, not declared

    from lakehouse import kafka

    results = []
    admin = kafka.admin(settings)
    for topic in TOPICS.values():
        try:
            [future] = admin.describe_configs([ConfigResource("topic", topic)], request_timeout=10).values()
            config = {k: v.value for k, v in future.result(timeout=15).items()}
        except Exception as exc:  # noqa: BLE001  # a broker without DescribeConfigs: said, not failed
            config = {"error": type(exc).__name__}
        results.append(retention_check(topic, config))
    return results


def retention_check(topic: str, config: dict[str, Any]) -> CheckResult:
    """``erasure.kafka.<topic>``: PASS with when the broker drops the records, WARN when ``retention.ms`` is -1
    (kept forever), SKIP when the broker reports no retention (or could not be asked)."""
    check_id = f"erasure.kafka.{topic}"
    if config.get("retention.ms") in (None, ""):
        why = f"could not be asked ({config['error']})" if "error" in config else "reports no retention.ms"
        return CheckResult(check_id, "bronze", topic, Status.SKIP, None, "",
                           f"the broker {why}: check the topic's retention by hand")
    retention = int(config["retention.ms"])
    return CheckResult(
        check_id, "bronze", topic, Status.WARN if retention < 0 else Status.PASS, retention, "retention.ms >= 0",
        f"cleanup.policy={config.get('cleanup.policy')}: "
        + ("the broker keeps the records forever (set retention.ms, or produce tombstones on a compacted topic)"
           if retention < 0 else f"the broker drops the records within {retention / 3_600_000:.1f} h"))
