"""Row filters for pyiceberg scans, overwrites and deletes, typed for the checker.

pyiceberg's literal predicates take ``(column, value)`` positionally and turn the
value into an Iceberg literal in their ``__init__``; their pydantic model also
declares ``value`` as a keyword field of Iceberg's ``Literal`` type, and that
generated signature is what a type checker sees. These helpers bridge the gap in
one place, so callers pass plain Python values and get a ``BooleanExpression``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
    Or,
    StartsWith,
)

Scalar = str | int | float | bool | datetime


def equal(column: str, value: Scalar) -> BooleanExpression:
    return EqualTo(column, value)  # type: ignore[call-arg, arg-type]  # positional (term, literal): see the module doc


def less_than(column: str, value: Scalar) -> BooleanExpression:
    return LessThan(column, value)  # type: ignore[call-arg, arg-type]


def at_least(column: str, value: Scalar) -> BooleanExpression:
    return GreaterThanOrEqual(column, value)  # type: ignore[call-arg, arg-type]


def at_most(column: str, value: Scalar) -> BooleanExpression:
    return LessThanOrEqual(column, value)  # type: ignore[call-arg, arg-type]


def starts_with(column: str, prefix: str) -> BooleanExpression:
    return StartsWith(column, prefix)  # type: ignore[call-arg, arg-type]


def one_of(column: str, values: Iterable[Scalar]) -> BooleanExpression:
    return In(column, set(values))  # type: ignore[call-arg, arg-type]


def all_of(*terms: BooleanExpression) -> BooleanExpression:
    """Every term (no term: every row)."""
    if not terms:
        return AlwaysTrue()
    return terms[0] if len(terms) == 1 else And(*terms)


def any_of(*terms: BooleanExpression) -> BooleanExpression:
    """Any of one or more terms."""
    return terms[0] if len(terms) == 1 else Or(*terms)
