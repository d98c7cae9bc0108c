"""What publishing a WAP branch would change on ``main``: per table, the rows inserted, updated and
deleted, the columns the updated rows changed, and for Gold how far the scores moved.

The branch's own rows are those in the data files it added over ``main`` (merge-on-read: inserted rows
and new versions of updated ones, :func:`lakehouse.iceberg.snapshots.data_files`); they are joined to
``main`` by key. A row rewritten with the same values (a replayed event: only its Kafka coordinates and
processing stamp are new) is not an update. Deleted rows come from the two snapshots' live-row counts
(summaries, no scan).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.core.checks import CheckResult, Status, compare
from lakehouse.core.names import GOLD_SUMMARY_TABLE, TRUST_MODEL, layer_of
from lakehouse.etl.parse import LINEAGE_COLUMNS
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.iceberg.snapshots import branch_files, live_rows, newest_json, table_or_none
from lakehouse.spark.tables import read_files, read_snapshot

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config import Settings
    from lakehouse.iceberg.snapshots import BranchFiles

SCORES = ("trending_score", "success_score", "trust_score", "final_score")
MOVED = "final_score"  # the score the regression guard watches


@dataclass
class TableDiff:
    table: str
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    changed_columns: dict[str, int] = field(default_factory=dict)  # column -> updated rows that changed it
    score_shift: dict[str, dict[str, float | None]] = field(default_factory=dict)  # score -> mean, p95 of the delta
    moved: int = 0  # updated rows whose final score moved past the guard's points
    trust_models: tuple[object, object] = (None, None)  # the model Gold's trust scores came from: main, branch


def table_diff(spark: SparkSession, table: str, branch: str, key: Sequence[str], moved_points: float) -> TableDiff | None:
    """The diff of ``table`` between ``main`` and ``branch`` (None when the table has no such branch)."""
    meta = table_or_none(get_catalog(), table)
    files = branch_files(meta, branch) if meta is not None else None
    if meta is None or files is None:
        return None
    if files.base is None or (files.head != files.base and not files.base_files):  # main has no row: all inserted
        return TableDiff(table, inserted=live_rows(meta, files.head))
    if not files.added:
        return TableDiff(table)
    diff = keyed_diff(spark, table, files, list(key), moved_points)
    diff.deleted = live_rows(meta, files.base) - (live_rows(meta, files.head) - diff.inserted)
    diff.trust_models = (newest_json(meta, files.base, TRUST_MODEL), newest_json(meta, files.head, TRUST_MODEL))
    return diff


def keyed_diff(spark: SparkSession, table: str, files: BranchFiles, key: list[str], moved_points: float) -> TableDiff:
    """One aggregation over the branch's rows (:class:`~lakehouse.iceberg.snapshots.BranchFiles`) joined to
    ``main`` by ``key``."""
    from pyspark.sql import functions as F

    base = files.base
    if base is None:  # table_diff counts a branch over an empty main without a scan
        raise ValueError(f"{table}: main has no snapshot to compare the branch with")

    new = read_files(spark, table, files.head, files.added)
    compared = [f.name for f in new.schema.fields
                if f.name not in (*key, *LINEAGE_COLUMNS) and f.dataType.typeName() != "map"]
    old = read_snapshot(spark, table, base).select(*key, *[F.col(c).alias(f"old_{c}") for c in compared])
    joined = new.join(old.withColumn("_matched", F.lit(True)), key, "left")
    differs = {c: ~F.col(c).eqNullSafe(F.col(f"old_{c}")) for c in compared}
    updated = F.col("_matched") & functools.reduce(operator.or_, differs.values(), F.lit(False))
    scores = [s for s in SCORES if s in compared]
    aggregates = [F.sum(F.col("_matched").isNull().cast("int")).alias("inserted"),
                  F.sum(updated.cast("int")).alias("updated"),
                  *[F.sum((F.col("_matched") & d).cast("int")).alias(f"changed_{c}") for c, d in differs.items()],
                  *[F.avg(F.when(updated, F.col(s) - F.col(f"old_{s}"))).alias(f"mean_{s}") for s in scores],
                  *[F.percentile_approx(F.when(updated, F.col(s) - F.col(f"old_{s}")), 0.95).alias(f"p95_{s}")
                    for s in scores]]
    if MOVED in scores:
        aggregates.append(F.sum((updated & (F.abs(F.col(MOVED) - F.col(f"old_{MOVED}")) > moved_points))
                                .cast("int")).alias("moved"))
    [totals] = joined.agg(*aggregates).collect()
    row = totals.asDict()
    return TableDiff(
        table, inserted=int(row["inserted"] or 0), updated=int(row["updated"] or 0),
        changed_columns={c: int(row[f"changed_{c}"] or 0) for c in compared if row[f"changed_{c}"]},
        score_shift={s: {"mean": _round(row[f"mean_{s}"]), "p95": _round(row[f"p95_{s}"])} for s in scores
                     if row[f"mean_{s}"] is not None},
        moved=int(row.get("moved") or 0))


def diff_checks(spark: SparkSession, branch: str, keys: dict[str, Any], settings: Settings) -> list[CheckResult]:
    """A ``diff.<table>`` line per table the branch has (what publishing changes) and the scoring
    regression guard on Gold: WARN when too many updated KOLs moved their final score too far."""
    out = []
    for table, key in keys.items():
        diff = table_diff(spark, table, branch, key, settings.score_move_points)
        if diff is None:
            continue
        columns = ", ".join(f"{c} {n}" for c, n in sorted(diff.changed_columns.items(), key=lambda x: -x[1]))
        shift = "; ".join(f"{s} mean {v['mean']:+} p95 {v['p95']:+}" for s, v in diff.score_shift.items())
        out.append(CheckResult(
            f"diff.{table}", layer_of(table), table, Status.PASS,
            f"+{diff.inserted} ~{diff.updated} -{diff.deleted}", "inserted ~updated -deleted",
            "; ".join(filter(None, (f"updated columns: {columns}" if columns else "", shift))),
            extra={"diff": diff.__dict__}))
        if table == GOLD_SUMMARY_TABLE and diff.updated:
            out.append(score_guard(diff, settings))
    return out


def score_guard(diff: TableDiff, settings: Settings) -> CheckResult:
    """Share of updated Gold KOLs whose final score moved more than the guard's points: WARN above its
    share. A run that rescored every KOL with a new champion is not judged here (SKIP): moving scores is
    what a new model does, and ``kol_model_training``'s gates judged the model."""
    check_id = f"diff.{diff.table}.{MOVED}_moved"
    before, after = diff.trust_models
    if before != after:
        return CheckResult(check_id, "gold", diff.table, Status.SKIP, None, f"<= {settings.score_move_max_share}",
                           f"trust model {before} -> {after}: every KOL rescored by the new champion")
    return compare(
        check_id, "gold", diff.table, round(diff.moved / diff.updated, 4), settings.score_move_max_share,
        op="<=", on_fail=Status.WARN, details=f"{diff.moved} of {diff.updated} updated KOLs moved their {MOVED} "
                                              f"by more than {settings.score_move_points:g} points")


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
