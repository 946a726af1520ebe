"""Comparisons as SQL, the same on SQLite and PostgreSQL.

``LIKE`` is case-sensitive in MLflow. PostgreSQL's is; SQLite's is not (for ASCII), so there the
pattern is translated to ``GLOB``, which is. ``ILIKE`` is SQLAlchemy's (``lower() LIKE lower()``
on SQLite, ``ILIKE`` on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, not_
from sqlalchemy.orm import Session

from compat.search.grammar import Value
from compat.search.vocabulary import Clause


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def compare(column: Any, operator: str, value: Value, dialect: str) -> ColumnElement[bool]:
    if operator == "=":
        return column == value  # type: ignore[no-any-return]
    if operator == "!=":
        return column != value  # type: ignore[no-any-return]
    if operator == "<":
        return column < value  # type: ignore[no-any-return]
    if operator == "<=":
        return column <= value  # type: ignore[no-any-return]
    if operator == ">":
        return column > value  # type: ignore[no-any-return]
    if operator == ">=":
        return column >= value  # type: ignore[no-any-return]
    if operator == "LIKE":
        return like(column, str(value), dialect)
    if operator == "ILIKE":
        return column.ilike(str(value))  # type: ignore[no-any-return]
    if operator == "IN":
        return column.in_(list(value or ()))  # type: ignore[no-any-return, arg-type]
    if operator == "NOT IN":
        return column.not_in(list(value or ()))  # type: ignore[no-any-return, arg-type]
    raise AssertionError(f"operator {operator!r} reached SQL unvalidated")


def like(column: Any, pattern: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return column.op("GLOB")(like_to_glob(pattern))  # type: ignore[no-any-return]
    return column.like(pattern)  # type: ignore[no-any-return]


_GLOB = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}


def like_to_glob(pattern: str) -> str:
    """``LIKE`` wildcards to ``GLOB``'s, GLOB's own metacharacters made literal."""
    return "".join(_GLOB.get(char, char) for char in pattern)


def key_value_condition(
    table: Any, owner: ColumnElement[bool], clause: Clause, dialect: str, *, missing_is_unequal: bool = False
) -> ColumnElement[bool]:
    """A clause on a key/value child table (params, tags): ``EXISTS`` a row of ``owner`` with that key.

    ``IS NULL`` is "never logged". ``!=`` needs the key present in run search (MLflow's rule there);
    with ``missing_is_unequal`` an entity without the key matches ``!=`` too (MLflow's registry rule).
    """
    has_key = exists().where(owner, table.key == clause.key)
    if clause.operator == "IS NULL":
        return not_(has_key)
    if clause.operator == "IS NOT NULL":
        return has_key
    if clause.operator == "!=" and missing_is_unequal:
        return not_(has_key.where(table.value == clause.value))
    return has_key.where(compare(table.value, clause.operator, clause.value, dialect))
