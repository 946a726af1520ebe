"""MLflow's search syntax: filter strings and ``order_by`` clauses, parsed into plain comparisons.

Owns the *syntax* only — which words exist for which search is ``compat.search.vocabulary``'s job.
Every mistake is an ``InvalidParameter`` that quotes the filter and says what was expected where,
instead of MLflow's "Invalid clause(s)".

    filter     := comparison (AND comparison)*
    comparison := identifier operator value
                | identifier [NOT] LIKE|ILIKE string
                | identifier [NOT] IN ( string [, string]* )
                | identifier IS [NOT] NULL
    identifier := [entity .] key        entity/key bare, `backticked` or "double-quoted"
    value      := number | 'string' | "string"
    order_by   := identifier [ASC | DESC]

Keywords are case-insensitive; a bare identifier without an entity is an attribute (as in MLflow 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidParameter

OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
KEYWORDS = frozenset({"AND", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL", "ASC", "DESC"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<identifier>(?:`[^`]*`|[A-Za-z_][\w]*)(?:\.(?:`[^`]*`|"[^"]*"|[\w.:\-]*[\w]))?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<operator><=|>=|!=|=|<|>)
  | (?P<punctuation>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    """``number``, ``identifier``, ``keyword``, ``string``, ``operator``, ``punctuation`` or ``end``."""
    text: str
    position: int


@dataclass(frozen=True, slots=True)
class Identifier:
    entity: str | None
    """The word before the first dot (``metrics``, ``tags``, ``attributes``…), or ``None``."""
    key: str


Value = str | float | int | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Comparison:
    identifier: Identifier
    operator: str
    """``=``, ``!=``, ``<``…, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``, ``IS NULL`` or ``IS NOT NULL``."""
    value: Value
    value_is_string: bool


@dataclass(frozen=True, slots=True)
class OrderBy:
    identifier: Identifier
    ascending: bool


def tokenize(text: str, *, what: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidParameter(
                f"Invalid {what} {text!r}: unexpected character {text[position]!r} at position {position}."
            )
        kind = match.lastgroup or ""
        if kind != "space":
            word = match.group()
            if kind == "identifier" and word.upper() in KEYWORDS:
                kind, word = "keyword", word.upper()
            tokens.append(Token(kind, word, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def parse_filter(text: str) -> list[Comparison]:
    """The AND-ed comparisons of a filter string; ``[]`` for an empty one."""
    if not text.strip():
        return []
    parser = _Parser(text, tokenize(text, what="filter"))
    comparisons = [parser.comparison()]
    while parser.accept("keyword", "AND"):
        comparisons.append(parser.comparison())
    parser.expect_end("AND between comparisons (OR and parentheses are not part of MLflow's syntax)")
    return comparisons


def parse_order_by(text: str) -> OrderBy:
    parser = _Parser(text, tokenize(text, what="order_by clause"), what="order_by clause")
    identifier = parser.identifier()
    ascending = True
    if parser.accept("keyword", "DESC"):
        ascending = False
    else:
        parser.accept("keyword", "ASC")
    parser.expect_end("ASC or DESC")
    return OrderBy(identifier, ascending)


def split_identifier(text: str) -> Identifier:
    entity, dot, key = text.partition(".")
    if not dot:
        return Identifier(None, _unquote(entity))
    return Identifier(_unquote(entity), _unquote(key))


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`\"'":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text


class _Parser:
    def __init__(self, text: str, tokens: list[Token], what: str = "filter") -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.what = what

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def fail(self, expected: str) -> InvalidParameter:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return InvalidParameter(
            f"Invalid {self.what} {self.text!r}: expected {expected} at position {token.position}, found {found}."
        )

    def expect_end(self, expected: str) -> None:
        if self.current.kind != "end":
            raise self.fail(expected)

    def identifier(self) -> Identifier:
        token = self.accept("identifier")
        if token is None:
            raise self.fail("an identifier such as metrics.accuracy, params.alpha, tags.`my tag` or attributes.status")
        return split_identifier(token.text)

    def comparison(self) -> Comparison:
        identifier = self.identifier()
        operator = self.accept("operator")
        if operator is not None:
            return self._with_value(identifier, operator.text)
        if self.accept("keyword", "IS"):
            negated = self.accept("keyword", "NOT") is not None
            if not self.accept("keyword", "NULL"):
                raise self.fail("NULL after IS")
            return Comparison(identifier, "IS NOT NULL" if negated else "IS NULL", None, False)
        negated = self.accept("keyword", "NOT") is not None
        for word in ("LIKE", "ILIKE", "IN"):
            if self.accept("keyword", word):
                name = f"NOT {word}" if negated else word
                if word == "IN":
                    return Comparison(identifier, name, self._string_list(), True)
                return self._with_value(identifier, name)
        raise self.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL)")

    def _with_value(self, identifier: Identifier, operator: str) -> Comparison:
        token = self.current
        if token.kind == "string":
            self.index += 1
            return Comparison(identifier, operator, _unquote(token.text), True)
        if token.kind == "number":
            self.index += 1
            text = token.text
            number: float | int = float(text) if any(c in text for c in ".eE") else int(text)
            return Comparison(identifier, operator, number, False)
        raise self.fail(f"a number or a quoted string after {operator}")

    def _string_list(self) -> tuple[str, ...]:
        if not self.accept("punctuation", "("):
            raise self.fail("a parenthesised list of quoted strings, e.g. ('a', 'b')")
        values: list[str] = []
        while True:
            token = self.accept("string")
            if token is None:
                raise self.fail("a quoted string in the list")
            values.append(_unquote(token.text))
            if self.accept("punctuation", ")"):
                return tuple(values)
            if not self.accept("punctuation", ","):
                raise self.fail("',' or ')' in the list")
