"""The request side of ``registered-models/search`` and ``model-versions/search``: filter, order,
page size and page token, parsed and validated the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compat.mlflow import page_tokens
from compat.mlflow import params as p
from compat.mlflow.endpoint import Params
from compat.mlflow.searches import no_duplicates
from compat.registry.search import Order
from compat.search.grammar import parse_filter, parse_order_by
from compat.search.vocabulary import Clause, Vocabulary


@dataclass(frozen=True, slots=True)
class RegistrySearch:
    kind: str
    clauses: list[Clause]
    orders: list[Order]
    offset: int
    limit: int
    fingerprint: str

    def answer(self, name: str, rows: list[Any], present: Any) -> dict[str, Any]:
        """``{name: [...]}`` for one page of ``rows`` (fetched with ``limit + 1``), with the next token."""
        answer: dict[str, Any] = {name: present(rows[: self.limit])}
        if len(rows) > self.limit:
            answer["next_page_token"] = page_tokens.offset_token(self.kind, self.offset + self.limit, self.fingerprint)
        return answer


def parse(params: Params, vocabulary: Vocabulary, *, kind: str, default: int, limit: int) -> RegistrySearch:
    filter_text = p.optional_str(params, "filter") or ""
    order_texts = p.order_by(params)
    page_size = p.max_results(params, default=default, limit=limit)
    clauses = [vocabulary.clause(c) for c in parse_filter(filter_text)]
    orders = [Order(vocabulary.order_key(o)[1], o.ascending) for o in map(parse_order_by, order_texts)]
    no_duplicates(order_texts, [o.key for o in orders])
    fingerprint = page_tokens.fingerprint(filter_text, order_texts)
    offset = page_tokens.offset_of(kind, params.get("page_token"), fingerprint)
    return RegistrySearch(kind, clauses, orders, offset, page_size, fingerprint)
