"""Erasing subjects from the lake's tables and from their history (the Spark half of ``kol_erasure``).

A plain ``DELETE`` is not an erasure here: merge-on-read tables keep deleted rows in their data files
behind position deletes, every retained snapshot and every branch or tag can still time-travel to them, and
Bronze's bookkeeping needs every Kafka offset it consumed. So, per request:

1. :func:`find` counts the subject's rows per table and gathers the identifiers the proof searches for
   (kol ids, usernames, display names, URLs, video and comment ids), before anything changes;
2. :func:`erase_rows`: Bronze keeps each record's offsets and blanks its key and payload (``erased_by`` = the
   request); Silver, quarantine, Gold and ``ml.kol_labels`` delete the subject's rows; ``audit.check_results``
   redacts them from its text. Each is a copy-on-write commit (the files holding the rows are rewritten
   without them, position deletes applied), so no data file of ``main`` still holds them;
3. :func:`carry_bookkeeping`: one commit per table that carries what readers take from the newest commit
   (Kafka offsets, lineage pointing at the upstream tables' new heads, Silver totals with the erased rows
   moved from duplicates to ``erased``), so the history before it can go;
4. :func:`purge_history`: every branch and tag but ``main`` dropped, every snapshot but the current one
   expired (their files deleted), orphan files older than the erasure's start removed, and old metadata
   files trimmed.

Every step is idempotent: a re-run finds nothing left to erase, commits bookkeeping only where a pointer is
stale and purges what a killed run left behind.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.core.entities import entities
from lakehouse.core.erasure import (
    REDACTED,
    TOKEN_CHARS,
    ErasureRequest,
    ErasureRequestError,
    Subject,
    searchable,
    token_alternatives,
)
from lakehouse.core.names import (
    BRONZE_TABLES,
    CHECK_RESULTS_TABLE,
    ERASURE_REQUEST,
    GOLD_SUMMARY_TABLE,
    KAFKA_FIRST_OFFSETS,
    KAFKA_NEXT_OFFSETS,
    KAFKA_RANGES,
    KAFKA_SOURCE,
    KAFKA_TOPIC,
    LABELS_TABLE,
    LINEAGE_OFFSETS,
    LINEAGE_UPSTREAM,
    MAIN,
    MERGE_ON_READ_TABLES,
    QUARANTINE_TABLE,
    SCORE_REFERENCE_TABLE,
    SILVER_TABLES,
    SILVER_WATERMARK,
    SUBJECT_KEYED_TABLES,
    TOTALS,
    TRUST_MODEL,
)
from lakehouse.etl.parse import payload_subject_sql
from lakehouse.iceberg.catalog import METADATA_RETENTION
from lakehouse.iceberg.snapshots import (
    ancestry,
    commits_between,
    is_in_history,
    newest_json,
    newest_property,
    summary,
    table_or_none,
)
from lakehouse.spark.commit import with_commit_properties
from lakehouse.spark.phases import phase
from lakehouse.spark.tables import qualified, timestamp_literal

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyspark.sql import SparkSession

PAYLOAD_TABLES = (*BRONZE_TABLES.values(), QUARANTINE_TABLE)  # the subject is in the raw JSON
TEXT_TABLES = {CHECK_RESULTS_TABLE: ("observed", "threshold", "details")}  # the subject may be named in text
# In lineage order: a table's bookkeeping commit points at the new heads of the tables before it.
PURGED_TABLES = (*BRONZE_TABLES.values(), *SILVER_TABLES, QUARANTINE_TABLE, GOLD_SUMMARY_TABLE,
                 SCORE_REFERENCE_TABLE, LABELS_TABLE, CHECK_RESULTS_TABLE)
# Where the proof reads rows: the tables that hold the subjects by key or payload, and those naming them in text.
SEARCHED_TABLES = (*PAYLOAD_TABLES, *SUBJECT_KEYED_TABLES, *TEXT_TABLES)
# What a reader takes from a table's newest commit that has it (Silver's plan, Gold's state, Bronze's
# consumer position, the nightly's lineage and accounting): carried onto the bookkeeping commit.
CARRIED_KEYS = (KAFKA_TOPIC, KAFKA_NEXT_OFFSETS, KAFKA_FIRST_OFFSETS, KAFKA_SOURCE, LINEAGE_UPSTREAM,
                LINEAGE_OFFSETS, TOTALS, SILVER_WATERMARK, TRUST_MODEL)
# Raw fields that identify a subject or its content, searched for in files by the proof.
IDENTIFYING_FIELDS = {"profiles": ("kol_id", "username", "display_name", "url", "profile_image_url"),
                      "videos": ("video_id",), "comments": ("comment_id", "video_id")}
SILVER_IDENTIFYING = {"profiles": ("username", "display_name"), "videos": ("video_id",),
                      "comments": ("comment_id", "video_id")}


class ErasureBlockedError(ErasureRequestError):
    """The lake is between a write and its transform: erasing now would expire snapshots an increment still
    needs. Nothing was touched."""


@dataclass
class TableErasure:
    """What an erasure did to one table."""

    table: str
    rows: int = 0  # rows erased (Bronze: records blanked; check_results: rows redacted)
    files_rewritten: int = 0
    bytes_rewritten: int = 0
    bookkeeping_snapshot: int | None = None
    refs_dropped: list[str] = field(default_factory=list)
    snapshots_expired: int = 0
    orphans_removed: int = 0


@dataclass
class Found:
    """The subject's rows per table before the erasure, and what identifies them in text (kept in memory,
    never written: the proof searches for it)."""

    rows: dict[str, int]
    quarantined_by_source: dict[str, int]
    identifiers: tuple[str, ...] = field(repr=False)


def subjects_sql(subjects: Iterable[Subject]) -> str:
    """``(('tiktok','kol_1'), ...)``: safe to inline, :func:`lakehouse.core.erasure.parse_subject` admits no
    quote or space."""
    return "(" + ", ".join(f"('{s.platform}', '{s.kol_id}')" for s in subjects) + ")"


def predicate(table: str, subjects: Iterable[Subject]) -> str:
    """The SQL condition selecting the subjects' rows of ``table`` (by its columns, or its raw payload)."""
    platform, kol_id = payload_subject_sql() if table in PAYLOAD_TABLES else ("platform", "kol_id")
    return f"({platform}, {kol_id}) IN {subjects_sql(subjects)}"


def text_predicate(table: str, identifiers: Iterable[str]) -> str:
    """Rows of a text table naming any identifier as a whole token (the same regex redaction replaces)."""
    identifiers = tuple(identifiers)
    if not identifiers:
        return "false"
    pattern = _token_regex(identifiers)
    return " OR ".join(f"coalesce({c}, '') rlike '{pattern}'" for c in TEXT_TABLES[table])


def check_settled(catalog: Catalog) -> None:
    """Refuse (:class:`ErasureBlockedError`) while Silver has Bronze commits to read or Gold has Silver commits
    to read: the purge expires the snapshots such an increment reads. Erasure commits do not count, so a
    re-run after a killed erasure is not blocked by that erasure's own commits."""
    for entity in entities().values():
        _check_caught_up(catalog, entity.silver_table, entity.bronze_table)
        _check_caught_up(catalog, GOLD_SUMMARY_TABLE, entity.silver_table)


def _check_caught_up(catalog: Catalog, reader: str, upstream: str) -> None:
    built, source = table_or_none(catalog, reader), table_or_none(catalog, upstream)
    head = source.current_snapshot() if source is not None else None
    built_head = built.current_snapshot() if built is not None else None
    if source is None or built is None or built_head is None or head is None:
        return  # nothing read yet: the reader's first run reads the upstream whole, no history needed
    recorded = newest_json(built, built_head.snapshot_id, LINEAGE_UPSTREAM, {}).get(upstream)
    if recorded is None or not is_in_history(source, int(recorded), head.snapshot_id):
        raise ErasureBlockedError(f"{reader} was built from {upstream} snapshot {recorded}, which is not in its "
                                  f"history: run kol_transform (full_rebuild) before erasing")
    moved = [s for s in commits_between(source, int(recorded), head.snapshot_id)
             if summary(s).get("operation") != "replace" and ERASURE_REQUEST not in summary(s)]
    if moved:
        raise ErasureBlockedError(f"{upstream} has {len(moved)} commit(s) {reader} has not read yet: run "
                                  f"kol_transform first (an erasure purges the history an increment reads)")


def find(spark: SparkSession, catalog: Catalog, request: ErasureRequest) -> Found:
    """The subjects' rows in every table that may hold them, and their identifiers."""
    rows: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    identifiers: set[str] = {s.kol_id for s in request.subjects}
    for table in (*PAYLOAD_TABLES, *SUBJECT_KEYED_TABLES):
        if table_or_none(catalog, table) is None:
            continue
        df = spark.table(qualified(table)).where(predicate(table, request.subjects))
        if table == QUARANTINE_TABLE:
            quarantined = {r.source_table: r["count"] for r in df.groupBy("source_table").count().collect()}
            rows[table] = sum(quarantined.values())
        else:
            rows[table] = df.count()
        identifiers |= _identifiers(df, table)
    return Found(rows, quarantined, searchable(identifiers))


def _identifiers(df: Any, table: str) -> set[str]:  # Any: a DataFrame (Spark is imported where a job runs)
    """The identifying values of the subject's rows of ``table`` (raw payload fields, or Silver columns)."""
    from pyspark.sql import functions as F

    by_entity = {e.bronze_table: (e.name, True) for e in entities().values()}
    by_entity.update({e.silver_table: (e.name, False) for e in entities().values()})
    if table not in by_entity:
        return set()
    entity, raw = by_entity[table]
    fields = IDENTIFYING_FIELDS[entity] if raw else SILVER_IDENTIFYING[entity]
    payload = F.col("payload").cast("string")
    cols = [F.get_json_object(payload, f"$.{f}") if raw else F.col(f) for f in fields]
    values = df.select(F.explode(F.array(*[c.cast("string") for c in cols])).alias("v")).distinct().collect()
    return {r.v for r in values if r.v}


@contextlib.contextmanager
def copy_on_write(spark: SparkSession, table: str) -> Iterator[None]:
    """The table's deletes and updates rewrite the data files they touch while inside (the rows are then gone
    from every file of ``main``, not masked by a delete file); its own modes are restored after, also on
    an error (a killed job leaves copy-on-write set, which the next erasure restores)."""
    name = qualified(table)
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}
    # a merge-on-read table is restored to it even when a killed erasure left it copy-on-write
    modes = {k: "merge-on-read" if table in MERGE_ON_READ_TABLES else props.get(k, "copy-on-write")
             for k in ("write.delete.mode", "write.update.mode")}
    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ("
              + ", ".join(f"'{k}' = 'copy-on-write'" for k in modes) + ")")
    try:
        yield
    finally:
        spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES (" + ", ".join(f"'{k}' = '{v}'" for k, v in modes.items())
                  + ")")


def erase_rows(spark: SparkSession, catalog: Catalog, request: ErasureRequest, found: Found,
               props: Mapping[str, str]) -> dict[str, TableErasure]:
    """Blank or delete the subjects' rows, one copy-on-write commit per table that holds any."""
    out: dict[str, TableErasure] = {}
    subjects = request.subjects
    for table in (*PAYLOAD_TABLES, *SUBJECT_KEYED_TABLES):
        if found.rows.get(table):
            where = predicate(table, subjects)
            if table in BRONZE_TABLES.values():
                statement = (f"UPDATE {qualified(table)} SET payload = NULL, kafka_key = NULL, "
                             f"erased_by = '{request.request_id}' WHERE erased_by IS NULL AND {where}")
            else:
                statement = f"DELETE FROM {qualified(table)} WHERE {where}"
            with phase(f"erasure.rewrite.{table}"):
                out[table] = _rewrite(spark, catalog, table, statement, found.rows[table], props)
    return out


def redact_text(spark: SparkSession, catalog: Catalog, identifiers: tuple[str, ...],
                props: Mapping[str, str]) -> dict[str, TableErasure]:
    """``[erased]`` in place of every identifier in the text tables' columns, copy-on-write. Run before the
    rows are erased: a re-run after a kill can no longer read what it would have to search for."""
    out = {}
    for table, columns in TEXT_TABLES.items():
        named = text_predicate(table, identifiers)
        count = spark.table(qualified(table)).where(named).count() if table_or_none(catalog, table) else 0
        if count:
            pattern = _token_regex(identifiers)
            sets = ", ".join(f"{c} = regexp_replace({c}, '{pattern}', '{REDACTED}')" for c in columns)
            out[table] = _rewrite(spark, catalog, table, f"UPDATE {qualified(table)} SET {sets} WHERE {named}",
                                  count, props)
    return out


def _token_regex(identifiers: Iterable[str]) -> str:
    """A Java regex (as a Spark SQL literal) matching any spelling of any identifier as a whole token."""
    pattern = f"(?<![{TOKEN_CHARS}])(?:{token_alternatives(identifiers)})(?![{TOKEN_CHARS}])"
    return pattern.replace("\\", "\\\\").replace("'", "\\'")


def _rewrite(spark: SparkSession, catalog: Catalog, table: str, statement: str, rows: int,
             props: Mapping[str, str]) -> TableErasure:
    """Run one erasing statement copy-on-write; what it rewrote comes from its commit's summary."""
    before = catalog.load_table(table).current_snapshot()
    with copy_on_write(spark, table):
        with_commit_properties(spark, props, lambda: spark.sql(statement))
    after = catalog.load_table(table).current_snapshot()
    done = TableErasure(table, rows=rows)
    if after is not None and (before is None or after.snapshot_id != before.snapshot_id):
        s = summary(after)
        done.files_rewritten = int(s.get("deleted-data-files", 0))
        done.bytes_rewritten = int(s.get("removed-files-size", 0))
    return done


def totals_delta(found: Found) -> dict[str, dict[str, int]]:
    """``{silver table: {total: change}}``: the subject's Bronze records move from where Silver counted them to
    ``erased``. Of the records blanked, those not in Silver now nor quarantined had been counted duplicates,
    so ``bronze = silver + duplicates + quarantined + erased`` stays exact."""
    delta = {}
    for entity in entities().values():
        blanked = found.rows.get(entity.bronze_table, 0)
        if blanked:
            kept = found.rows.get(entity.silver_table, 0) + found.quarantined_by_source.get(entity.bronze_table, 0)
            delta[entity.silver_table] = {"erased": blanked, "duplicates": kept - blanked}
    return delta


def carry_bookkeeping(catalog: Catalog, erased: Mapping[str, TableErasure], delta: Mapping[str, Mapping[str, int]],
                      props: Mapping[str, str]) -> dict[str, int]:
    """One empty commit per table, in lineage order, carrying what readers take from the newest commit; only
    where the table changed or its lineage names an upstream snapshot that is no longer the upstream head.
    Returns ``{table: bookkeeping snapshot id}``."""
    import pyarrow as pa

    heads: dict[str, int] = {}
    committed: dict[str, int] = {}
    for name in PURGED_TABLES:
        table = table_or_none(catalog, name)
        head = table.current_snapshot() if table is not None else None
        if table is None or head is None:
            continue
        carried = {k: v for k in CARRIED_KEYS if (v := newest_property(table, head.snapshot_id, k)) is not None}
        upstream = json.loads(carried.get(LINEAGE_UPSTREAM, "{}"))
        moved = {t: heads[t] for t, sid in upstream.items() if t in heads and heads[t] != sid}
        change = {} if _applied(table, head.snapshot_id, props[ERASURE_REQUEST]) else delta.get(name, {})
        if name in erased or moved or change:
            carried.update(_carried(carried, {**upstream, **moved}, change))
            table.append(pa.Table.from_pylist([], schema=table.schema().as_arrow()),
                         snapshot_properties={**carried, **props})
            head = table.refresh().current_snapshot() or head
            committed[name] = head.snapshot_id
        heads[name] = head.snapshot_id
    return committed


def _applied(table: Table, head: int, request_id: str) -> bool:
    """Whether this request's bookkeeping commit is in the table's history already (a re-run after a kill
    must not move the totals twice)."""
    return any(summary(s).get(ERASURE_REQUEST) == request_id and TOTALS in summary(s) for s in ancestry(table, head))


def _carried(carried: Mapping[str, str], upstream: Mapping[str, int], delta: Mapping[str, int]) -> dict[str, str]:
    """The carried properties that change: lineage remapped, totals moved, a Bronze commit's own range empty."""
    out = {}
    if LINEAGE_UPSTREAM in carried:
        out[LINEAGE_UPSTREAM] = json.dumps(dict(upstream), sort_keys=True)
    if delta:
        totals = json.loads(carried.get(TOTALS, "{}"))
        out[TOTALS] = json.dumps({**totals, **{k: int(totals.get(k, 0)) + v for k, v in delta.items()}},
                                 sort_keys=True)
    if KAFKA_NEXT_OFFSETS in carried:
        out[KAFKA_RANGES] = "{}"  # this commit consumed nothing; the offsets before it stay exact
    return out


def purge_history(spark: SparkSession, catalog: Catalog, started_ms: int) -> dict[str, TableErasure]:
    """On every table that may have held the subjects: refs but ``main`` dropped, every snapshot but the
    current one expired (their files deleted), orphan files written before the erasure started removed (a
    killed run's), and the metadata log trimmed to the files written after the expiry."""
    out = {}
    for name in PURGED_TABLES:
        table = table_or_none(catalog, name)
        if table is None:
            continue
        done = TableErasure(name)
        for ref, _ in sorted(table.refs().items()):
            if ref != MAIN:
                kind = "TAG" if table.refs()[ref].snapshot_ref_type == "tag" else "BRANCH"
                spark.sql(f"ALTER TABLE {qualified(name)} DROP {kind} IF EXISTS `{ref}`")
                done.refs_dropped.append(ref)
        before = len(catalog.load_table(name).snapshots())
        spark.sql(f"CALL lake.system.expire_snapshots(table => '{name}', older_than => {timestamp_literal(int(time.time() * 1000))}, "
                  "retain_last => 1)").collect()
        done.snapshots_expired = before - len(catalog.load_table(name).snapshots())
        done.orphans_removed = remove_orphans(spark, name, started_ms)
        trim_metadata_log(spark, name)
        out[name] = done
    return out


def remove_orphans(spark: SparkSession, name: str, older_than_ms: int) -> int:
    """Iceberg's orphan-file action (the Spark procedure refuses an age under a day; the action is its public
    API for a caller that knows no other writer runs: the lake lease is held, and files of a write still in
    flight are newer than the erasure's start)."""
    gateway, session = spark.sparkContext._gateway, spark._jsparkSession
    if gateway is None:
        raise RuntimeError("the Spark session has no py4j gateway (stopped?)")
    jvm = gateway.jvm
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(session, qualified(name))
    result = (jvm.org.apache.iceberg.spark.actions.SparkActions.get(session).deleteOrphanFiles(table)
              .olderThan(older_than_ms).execute())
    removed, files = 0, result.orphanFileLocations().iterator()
    while files.hasNext():
        files.next()
        removed += 1
    return removed


def trim_metadata_log(spark: SparkSession, name: str) -> None:
    """Old ``metadata.json`` files list expired snapshots (and their summaries): a commit with one previous
    version kept deletes the others (``write.metadata.delete-after-commit.enabled``), then the usual
    retention is restored."""
    table = qualified(name)
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('write.metadata.delete-after-commit.enabled' = 'true', "
              "'write.metadata.previous-versions-max' = '1')")
    keep = METADATA_RETENTION["write.metadata.previous-versions-max"]
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('write.metadata.previous-versions-max' = '{keep}')")

