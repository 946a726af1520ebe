"""The route table of the ML pages (``/<full path>/-/ml/…``); every handler renders errors as HTML."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from compat.web import candidates, compare, experiments, models, page
from tenants.web.pages import html_errors

ML = page.ML


def web_routes() -> list[Route]:
    templates = page.templates()
    handlers = {
        **experiments.routes_of(templates),
        **candidates.routes_of(templates),
        **compare.routes_of(templates),
        **models.routes_of(templates),
    }
    table = [
        ("GET", "/experiments", "experiments"),
        ("GET", "/experiments/{experiment}", "experiment"),
        ("GET", "/experiments/{experiment}/runs.csv", "runs_csv"),
        ("POST", "/experiments/{experiment}/runs", "selection"),
        ("POST", "/experiments/{experiment}/bulk", "bulk"),
        ("GET", "/candidates/{candidate}", "candidate"),
        ("POST", "/candidates/{candidate}", "candidate_action"),
        ("GET", "/candidates/{candidate}/artifacts/{path:path}", "artifact"),
        ("GET", "/metric-history", "metric_history"),
        ("GET", "/compare", "compare"),
        ("GET", "/models", "models"),
        ("GET", "/models/{model}", "model"),
        ("POST", "/models/{model}", "describe"),
        ("GET", "/models/{model}/versions/{version}", "version"),
        ("POST", "/models/{model}/versions/{version}", "describe"),
    ]
    return [
        Route(ML + path, html_errors(templates, handlers[name]), methods=[method], name=f"web:{name}:{method}")
        for method, path, name in table
    ]


def asset_files() -> dict[str, Path]:
    return page.assets()
