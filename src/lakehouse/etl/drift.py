"""Schema drift of raw payloads against their contract, found in the Silver job's own pass over the increment.

Per run and topic: payload fields the contract does not declare (``new``), required fields absent or null
(``missing``), and declared fields whose JSON type is not the contract's (``retyped``) — each with its record
count and the Kafka coordinates of the first three records. Silver records the result in its commit's
summary (``contract.drift``); the audit judges it (:mod:`lakehouse.quality.contracts`). Records that are not
a JSON object are left out: they are already quarantined as ``malformed_json``.

One regular expression over the raw text finds only what is wrong: a key the contract does not declare, or a
declared field whose value does not start as its type does (a string with a quote, a long with a digit or
minus and no fraction, a boolean with ``t``/``f``; ``null`` is absent). A clean record costs one scan with no
match. It is exact for the flat documents contracts describe: a quote inside a string is escaped, so a value
cannot fake a key (the keys of an object under a new field count as new too). Spark's parser cannot tell: it
reads ``123`` into a string field as ``"123"``, and each failed conversion costs an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lakehouse.core.contracts import Contract

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from lakehouse.core.contracts import Field

SAMPLES = 3
MAX_FINDINGS = 20  # per run and topic, the most frequent first: a summary property stays small
NEW, MISSING, RETYPED = "new", "missing", "retyped"
# What a value that is not of its declared type starts with (the last character a wrong match ends on).
WRONG_START = {"string": r'[^"n]', "long": r"[^-0-9n]|-?[0-9]+[.eE]", "boolean": r"[^tfn]"}
OBSERVED = {'"': "string", "t": "boolean", "f": "boolean", "{": "object", "[": "array", ".": "decimal",
            "e": "decimal", "E": "decimal"}


def drift_pattern(contract: Contract) -> str:
    """Matches ``"<undeclared key>":`` and ``"<field>": <first character>`` where a value has the wrong type."""
    def names(fields: Iterable[Field]) -> str:
        return "|".join(re.escape(f.name) for f in fields)

    wrong = [f'(?:{names(fs)})"\\s*+:\\s*+(?:{start})' for json_type, start in WRONG_START.items()
             if (fs := [f for f in contract.fields if f.type == json_type])]
    undeclared = f'(?!(?:{names(contract.fields)})")[^"\\\\]++"\\s*+:'  # possessive: no backtracking
    return f'"(?:{"|".join([undeclared, *wrong])})'


def with_drift(classified: DataFrame, contract: Contract) -> DataFrame:
    """``classified`` with a ``drift`` column: each record's ``(field, kind, observed)`` findings.

    ``classified``: the increment's Bronze rows as :func:`lakehouse.etl.parse.classify` left them (``payload``,
    its typed ``doc``, ``reason``, Kafka coordinates). Silver caches the result, so the scan runs once, inside
    the count Silver takes anyway; a clean record's findings are empty. Records that are not JSON get null
    (they are quarantined as ``malformed_json``).
    """
    from pyspark.sql import functions as F

    wrong = F.regexp_extract_all(F.col("payload").cast("string"), F.lit(drift_pattern(contract)), 0)
    is_json = F.coalesce(F.col("reason") != "malformed_json", F.lit(True))
    # two projections: the findings read ``wrong`` several times, the regex runs once
    return (classified.withColumn("wrong", wrong)
            .withColumn("drift", F.when(is_json, findings_of(contract)))
            .drop("wrong"))


def drifted() -> Column:
    """An aggregate: how many records have findings (0 on a clean increment: no grouping job to run)."""
    from pyspark.sql import functions as F

    return F.count_if(F.size("drift") > 0)


def drift_findings(with_drift_rows: DataFrame, drifted_records: int) -> list[dict[str, Any]]:
    """``[{field, kind, observed, count, samples}]`` of one increment, the most frequent first.

    ``with_drift_rows``: the cached output of :func:`with_drift`; ``drifted_records``: its :func:`drifted`
    count. A clean increment costs nothing here.
    """
    from pyspark.sql import functions as F

    if not drifted_records:
        return []
    found = with_drift_rows.select("kafka_partition", "kafka_offset", F.explode("drift").alias("f"))
    rows = (found.groupBy("f.field", "f.kind", "f.observed")
            .agg(F.count("*").alias("count"),
                 F.slice(F.sort_array(F.collect_list(F.array("kafka_partition", "kafka_offset"))), 1, SAMPLES)
                 .alias("samples"))
            .orderBy(F.desc("count"), "field").limit(MAX_FINDINGS).collect())
    return [{"field": r.field, "kind": r.kind, "observed": r.observed, "count": r["count"],
             "samples": [list(s) for s in r.samples]} for r in rows]


def findings_of(contract: Contract) -> Column:
    """A column: the ``(field, kind, observed)`` findings of one parsed record, an empty array when it is clean."""
    from pyspark.sql import functions as F

    none = F.lit(None).cast("string")

    def finding(field: Column, kind: str, observed: Column) -> Column:
        return F.struct(field.alias("field"), F.lit(kind).alias("kind"), observed.alias("observed"))

    def field_of(match: Column) -> Column:  # '"username": 1' -> username
        return F.substring_index(F.substring(match, 2, 1 << 16), '"', 1)

    def observed_of(match: Column) -> Column:
        last = F.substring(match, -1, 1)
        return F.coalesce(*(F.when(last == c, t) for c, t in OBSERVED.items()), F.lit("number"))

    out = [F.transform("wrong", lambda m: F.when(F.substring(m, -1, 1) == ":", finding(field_of(m), NEW, none))
                       .otherwise(finding(field_of(m), RETYPED, observed_of(m))))]
    for name in contract.required:  # absent or null (a retyped long or boolean parses as null, but is not missing)
        retyped = F.exists("wrong", starts_with(f'"{name}"'))
        out.append(F.array(F.when(F.col("doc")[name].isNull() & ~retyped, finding(F.lit(name), MISSING, none))))
    return F.filter(F.flatten(F.array(*out)), lambda x: x.isNotNull())


def starts_with(prefix: str) -> Callable[[Column], Column]:
    """A one-argument lambda for Spark's higher-order functions (which count a default argument as one)."""
    return lambda m: m.startswith(prefix)
