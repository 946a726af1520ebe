"""The search grammar and vocabularies on their own: what parses into what, and what is refused how."""

from __future__ import annotations

import pytest

from compat.search.grammar import Comparison, Identifier, parse_filter, parse_order_by
from compat.search.sql import like_to_glob
from compat.search.vocabulary import EXPERIMENTS, RUNS, Clause
from gateway.errors import InvalidParameter


def clauses(text: str) -> list[Clause]:
    return [RUNS.clause(c) for c in parse_filter(text)]


def test_every_comparison_form_parses() -> None:
    text = (
        "metrics.acc > 0.5 and params.alpha = '0.1' AND tags.`my tag` LIKE 'v%' AND tags.\"other.key\" ILIKE \"x\" "
        "AND attributes.run_id IN ('a', 'b') AND run_id NOT IN ('c') AND tags.t IS NULL AND params.p IS NOT NULL "
        "AND metrics.loss <= -1e-3 AND attr.start_time >= 17 AND status != 'FAILED'"
    )
    assert clauses(text) == [
        Clause("metric", "acc", ">", 0.5),
        Clause("param", "alpha", "=", "0.1"),
        Clause("tag", "my tag", "LIKE", "v%"),
        Clause("tag", "other.key", "ILIKE", "x"),
        Clause("attribute", "run_id", "IN", ("a", "b")),
        Clause("attribute", "run_id", "NOT IN", ("c",)),
        Clause("tag", "t", "IS NULL", None),
        Clause("param", "p", "IS NOT NULL", None),
        Clause("metric", "loss", "<=", -0.001),
        Clause("attribute", "start_time", ">=", 17),
        Clause("attribute", "status", "!=", "FAILED"),
    ]


def test_dotted_keys_aliases_and_quotes() -> None:
    assert clauses("tags.mlflow.runName = 'a''b'") == [Clause("tag", "mlflow.runName", "=", "a'b")]
    assert clauses("attributes.`Run name` = 'x' AND created > 5") == [
        Clause("attribute", "run_name", "=", "x"),
        Clause("attribute", "start_time", ">", 5),
    ]
    assert parse_filter("   ") == []
    assert parse_filter("metrics.`a b`>1") == [Comparison(Identifier("metrics", "a b"), ">", 1, False)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.acc >", "expected a number or a quoted string after > at position 13, found the end"),
        ("metrics.acc > 'x'", "Expected a number for metric 'acc'"),
        ("params.alpha = 0.5", "Expected a quoted string for param 'alpha'"),
        ("foo.bar = 1", "Invalid entity type 'foo'"),
        ("metrics.a = 1 OR metrics.b = 2", "expected AND between comparisons"),
        ("attributes.start_time = '1'", "Expected a number for attribute 'start_time'"),
        ("attributes.colour = 'red'", "Invalid attribute key 'colour'"),
        ("metrics.acc LIKE '1'", "Invalid comparator 'LIKE' for metric 'acc'"),
        ("params.a IN ('x')", "Invalid comparator 'IN' for param 'a'"),
        ("status IN ('RUNNING')", "IN is only supported for run_id"),
        ("params.a NOT LIKE 'x'", "Invalid comparator 'NOT LIKE'"),
        ("params.a = 'x' AND", "expected an identifier"),
        ("(params.a = 'x')", "expected an identifier"),
        ("params.a = 'unterminated", "unexpected character"),
        ("run_id IN 'a'", "a parenthesised list"),
        ("run_id IN ('a' 'b')", "',' or ')'"),
        ("tags.t IS 'x'", "NULL after IS"),
        ("datasets.size = 'x'", "Invalid dataset key 'size'"),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        clauses(text)
    assert message in caught.value.message, caught.value.message


def test_experiment_vocabulary_is_narrower() -> None:
    parsed = parse_filter("name LIKE 'exp%' AND tags.team = 'a' AND experiment_id IN ('1', '2') AND creation_time > 1")
    assert [EXPERIMENTS.clause(c).kind for c in parsed] == ["attribute", "tag", "attribute", "attribute"]
    with pytest.raises(InvalidParameter, match="Invalid entity type 'metrics'"):
        EXPERIMENTS.clause(parse_filter("metrics.a > 1")[0])


def test_order_by() -> None:
    order = parse_order_by("metrics.`val loss` DESC")
    assert (order.identifier, order.ascending) == (Identifier("metrics", "val loss"), False)
    assert parse_order_by("start_time asc").ascending
    assert RUNS.order_key(parse_order_by("Created")) == ("attribute", "start_time")
    for bad in ("metrics.a DOWN", "metrics.a DESC ASC", "", "datasets.name"):
        with pytest.raises(InvalidParameter):
            RUNS.order_key(parse_order_by(bad))


def test_like_pattern_becomes_a_case_sensitive_glob() -> None:
    assert like_to_glob("a%b_c*d?[e]") == "a*b?c[*]d[?][[]e]"
