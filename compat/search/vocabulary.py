"""Which fields each search knows, with which operators and value types: parsed comparisons in,
typed ``Clause``s out. The rules are MLflow's (``SearchUtils`` / ``SearchExperimentsUtils``), the
messages say what would have been accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from compat.search.grammar import Comparison, Identifier, OrderBy, Value
from gateway.errors import InvalidParameter

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]

NUMBER_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})
KEY_VALUE_OPERATORS = frozenset({"=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"})
STRING_OPERATORS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
LIST_OPERATORS = frozenset({"IN", "NOT IN"})

_ENTITY_WORDS: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}


@dataclass(frozen=True, slots=True)
class Clause:
    kind: Kind
    key: str
    """The canonical key: aliases (``created``, ``Run name``) are already translated."""
    operator: str
    value: Value


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What one search (runs, experiments, registered models…) accepts."""

    name: str
    kinds: frozenset[Kind]
    string_attributes: frozenset[str]
    number_attributes: frozenset[str]
    list_attributes: frozenset[str] = frozenset()
    aliases: Mapping[str, str] | None = None
    dataset_keys: frozenset[str] = frozenset()

    def clause(self, comparison: Comparison) -> Clause:
        kind, key = self._resolve(comparison.identifier)
        operator, value = comparison.operator, comparison.value
        if kind == "metric" or (kind == "attribute" and key in self.number_attributes):
            self._check_operator(operator, NUMBER_OPERATORS, kind, key)
            if comparison.value_is_string:
                raise InvalidParameter(f"Expected a number for {_label(kind, key)}, got the string {value!r}.")
        elif kind in ("param", "tag"):
            self._check_operator(operator, KEY_VALUE_OPERATORS, kind, key)
            if operator not in ("IS NULL", "IS NOT NULL") and not comparison.value_is_string:
                raise InvalidParameter(
                    f"Expected a quoted string for {_label(kind, key)} (e.g. '{value}'), got {value!r}."
                )
        else:
            self._check_operator(operator, STRING_OPERATORS, kind, key)
            if operator in LIST_OPERATORS and kind == "attribute" and key not in self.list_attributes:
                raise InvalidParameter(
                    f"{operator} is only supported for {_names(self.list_attributes)}, not for {_label(kind, key)}."
                )
            if not comparison.value_is_string:
                raise InvalidParameter(f"Expected a quoted string for {_label(kind, key)}, got {value!r}.")
        return Clause(kind, key, operator, value)

    def order_key(self, order: OrderBy) -> tuple[Kind, str]:
        kind, key = self._resolve(order.identifier)
        if kind == "dataset":
            raise InvalidParameter("Runs cannot be ordered by dataset fields.")
        return kind, key

    def _resolve(self, identifier: Identifier) -> tuple[Kind, str]:
        if identifier.entity is None:
            kind: Kind = "attribute"
        elif identifier.entity in _ENTITY_WORDS and _ENTITY_WORDS[identifier.entity] in self.kinds:
            kind = _ENTITY_WORDS[identifier.entity]
        else:
            valid = sorted(word for word, k in _ENTITY_WORDS.items() if k in self.kinds)
            raise InvalidParameter(
                f"Invalid entity type '{identifier.entity}' in the {self.name} search; use one of {', '.join(valid)}."
            )
        key = identifier.key
        if not key:
            raise InvalidParameter(f"Missing key after '{identifier.entity}.' in the {self.name} search.")
        if kind == "attribute":
            key = (self.aliases or {}).get(key, key)
            if key not in self.string_attributes | self.number_attributes:
                raise InvalidParameter(
                    f"Invalid attribute key '{key}' in the {self.name} search; valid attributes are "
                    f"{_names(self.string_attributes | self.number_attributes)}."
                )
        if kind == "dataset" and key not in self.dataset_keys:
            raise InvalidParameter(f"Invalid dataset key '{key}'; valid keys are {_names(self.dataset_keys)}.")
        return kind, key

    @staticmethod
    def _check_operator(operator: str, allowed: frozenset[str], kind: Kind, key: str) -> None:
        if operator not in allowed:
            raise InvalidParameter(
                f"Invalid comparator '{operator}' for {_label(kind, key)}; use one of {_names(allowed)}."
            )


def _label(kind: Kind, key: str) -> str:
    return f"{kind} '{key}'"


def _names(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


RUNS = Vocabulary(
    name="runs",
    kinds=frozenset({"metric", "param", "tag", "attribute", "dataset"}),
    string_attributes=frozenset({"run_id", "run_name", "status", "user_id", "artifact_uri"}),
    number_attributes=frozenset({"start_time", "end_time", "ci_job_id"}),
    list_attributes=frozenset({"run_id"}),
    aliases={
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    dataset_keys=frozenset({"name", "digest", "context"}),
)

EXPERIMENTS = Vocabulary(
    name="experiments",
    kinds=frozenset({"tag", "attribute"}),
    string_attributes=frozenset({"name", "experiment_id"}),
    number_attributes=frozenset({"creation_time", "last_update_time"}),
    list_attributes=frozenset({"experiment_id"}),
)
