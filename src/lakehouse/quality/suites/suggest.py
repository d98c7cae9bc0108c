"""``lakehouse suites suggest <table>``: a draft GX 1.x suite learned from a table's ``main``.

GX removed its profilers in 1.0 (Deequ keeps a suggestion runner); this is ours. Spark profiles every
column (one aggregation for counts and ranges, one for the value sets of the columns with few distinct
values, one for the key's uniqueness); the draft holds, per column, what the data showed:

- its Spark type (``expect_column_values_to_be_of_type``);
- not null, where no row was null;
- a range from the observed min and max, widened by a margin (and never below 0 for a column that never
  was), so the data it was learned from passes and a value far outside fails;
- a value set, where a text column has few distinct values;
- the uniqueness of the table's key (its business key, or ``--key``), where the data has it unique.

Every expectation is marked ``meta.suggested: true`` and ``meta.severity: warning``: a draft WARNs until a
person promotes a rule to ``error``. An existing file is never overwritten; ``force`` merges the new
expectations into it, keeping every one already there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructField

NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")
PROFILED = (*NUMERIC, "string", "boolean", "timestamp", "date")  # nested and binary columns are not profiled
MAX_VALUE_SET = 20  # at most this many distinct values make a text column a value set
MIN_ROWS_PER_VALUE = 5  # ... and only if each value could repeat: not a sample of a free-text column
RANGE_MARGIN = 0.10  # of the observed range, on each side
SUGGESTED = {"severity": "warning", "suggested": True}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    spark_type: str  # e.g. LongType
    simple_type: str  # e.g. bigint
    rows: int
    nulls: int
    distinct: int  # approximate
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None  # the value set, for a low-cardinality text column


def profile(df: DataFrame, key: tuple[str, ...] = ()) -> tuple[list[ColumnProfile], bool]:
    """Every column of ``df``: one aggregation for counts and ranges, one for the value sets of the
    columns with few distinct values, one for whether ``key`` is unique."""
    from pyspark.sql import functions as F

    fields = [f for f in df.schema.fields if _base(f.dataType.simpleString()) in PROFILED]
    aggregates = [F.count(F.lit(1)).alias("_rows")]
    for f in fields:
        c = F.col(f"`{f.name}`")
        aggregates += [F.sum(c.isNull().cast("int")).alias(f"{f.name}__nulls"),
                       F.approx_count_distinct(c).alias(f"{f.name}__distinct")]
        if _base(f.dataType.simpleString()) in NUMERIC:
            aggregates += [F.min(c).cast("double").alias(f"{f.name}__min"),
                           F.max(c).cast("double").alias(f"{f.name}__max")]
    [totals] = df.agg(*aggregates).collect()
    row = totals.asDict()
    rows = int(row["_rows"])
    few = [f.name for f in fields if f.dataType.simpleString() == "string"
           and 0 < int(row[f"{f.name}__distinct"] or 0) <= MAX_VALUE_SET
           and rows >= MIN_ROWS_PER_VALUE * int(row[f"{f.name}__distinct"])]
    if few:  # approx distinct is a bound to 2 %: the exact set may hold a value or two more
        [value_sets] = df.agg(*[F.array_sort(F.collect_set(F.col(f"`{n}`"))).alias(n) for n in few]).collect()
        sets = value_sets.asDict()
        row.update({f"{n}__values": sets[n] for n in few if len(sets[n]) <= MAX_VALUE_SET})
    unique = bool(key) and rows > 0 and df.select(*key).distinct().count() == rows
    return [_column(f, row, rows) for f in fields], unique


def _column(field: StructField, row: dict[str, Any], rows: int) -> ColumnProfile:
    name = field.name
    values = row.get(f"{name}__values")
    return ColumnProfile(name, type(field.dataType).__name__, field.dataType.simpleString(), rows,
                         int(row[f"{name}__nulls"] or 0), int(row[f"{name}__distinct"] or 0),
                         row.get(f"{name}__min"), row.get(f"{name}__max"), tuple(values) if values else None)


def _base(simple_type: str) -> str:
    return simple_type.split("(")[0]


def suggested_expectations(columns: list[ColumnProfile], key: tuple[str, ...], key_unique: bool) -> list[dict[str, Any]]:
    """The draft's expectations (GX's own JSON form), in column order."""
    out = []
    for c in columns:
        if not c.rows:
            continue
        out.append(_expectation("expect_column_values_to_be_of_type", column=c.name, type_=c.spark_type))
        if c.nulls == 0:
            out.append(_expectation("expect_column_values_to_not_be_null", column=c.name))
        if _base(c.simple_type) in NUMERIC and c.minimum is not None and c.maximum is not None:
            out.append(_expectation("expect_column_values_to_be_between", column=c.name,
                                    **widened(c.minimum, c.maximum)))
        if c.values is not None:
            out.append(_expectation("expect_column_values_to_be_in_set", column=c.name, value_set=list(c.values)))
    if key and key_unique:  # GX's compound rule takes two columns or more; one column has its own rule
        out.append(_expectation("expect_compound_columns_to_be_unique", column_list=list(key)) if len(key) > 1
                   else _expectation("expect_column_values_to_be_unique", column=key[0]))
    return out


def widened(minimum: float, maximum: float) -> dict[str, float]:
    """``[min - margin, max + margin]``, the margin a share of the observed range (at least 1); a column
    never negative stays bounded by 0."""
    margin = max(RANGE_MARGIN * (maximum - minimum), 1.0)
    low = minimum - margin if minimum < 0 else max(0.0, minimum - margin)
    return {"min_value": round(low, 6), "max_value": round(maximum + margin, 6)}


def _expectation(type_name: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_name, "kwargs": kwargs, "meta": dict(SUGGESTED)}


def _key(expectation: dict[str, Any]) -> str:
    kwargs = expectation["kwargs"]
    return json.dumps([expectation["type"], kwargs.get("column"), kwargs.get("column_list")])


@dataclass(frozen=True)
class Suggestion:
    path: Path
    added: int
    kept: int
    written: bool  # False: the file exists and force was not given


def write_suggestion(path: Path, table: str, expectations: list[dict[str, Any]], *, force: bool = False) -> Suggestion:
    """Write the draft to ``path``; an existing file is left alone, or (``force``) gets the expectations it
    does not have yet (same type and column), every existing one kept as it is."""
    if path.exists() and not force:
        return Suggestion(path, 0, 0, False)
    suite: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"name": table, "expectations": []}
    have = {_key(e) for e in suite["expectations"]}
    new = [e for e in expectations if _key(e) not in have]
    kept = len(suite["expectations"])
    suite["expectations"] = [*suite["expectations"], *new]
    suite.setdefault("meta", {})["suggested_by"] = "lakehouse suites suggest"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite, indent=2, default=str) + "\n")
    return Suggestion(path, len(new), kept, True)


def suggest(spark: SparkSession, table: str, directory: Path, *, key: tuple[str, ...] = (), force: bool = False) -> Suggestion:
    """Profile ``table``'s ``main`` and write ``<directory>/<layer>/<name>.json``."""
    from lakehouse.spark.tables import qualified

    layer, name = table.split(".", 1)
    columns, unique = profile(spark.table(qualified(table)), key)
    return write_suggestion(directory / layer / f"{name}.json", table, suggested_expectations(columns, key, unique),
                            force=force)
