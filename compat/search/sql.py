"""Comparisons as SQL, the same on SQLite and PostgreSQL.

``LIKE`` is case-sensitive in MLflow. PostgreSQL's is; SQLite's is not (for ASCII), so there the
pattern is translated to ``GLOB``, which is. ``ILIKE`` is SQLAlchemy's (``lower() LIKE lower()``
on SQLite, ``ILIKE`` on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from compat.search.grammar import Value


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
