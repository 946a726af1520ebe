"""Imports point down the layers of ARCHITECTURE.md (an AST walk, so lazy imports count too).

composition roots   gateway.app, gateway.__main__, gateway.cli_*, gateway.migrations
compat.mlflow       the MLflow dialect
compat.web          the web UI's ML pages (a presentation layer beside the MLflow dialect)
compat              the ML domain
tenants             tenancy, tokens, permissions
gateway (kernel)    settings, db, errors, http, middleware, storage, logging
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "tenants", "compat")
COMPOSITION_ROOTS = ("gateway.app", "gateway.__main__", "gateway.cli_", "gateway.migrations")


def layer(module: str) -> int:
    if module.startswith(COMPOSITION_ROOTS):
        return 4
    if module.startswith(("compat.mlflow", "compat.web")):
        return 3
    if module.startswith("compat"):
        return 2
    if module.startswith("tenants"):
        return 1
    return 0


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


MODULES = project_modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    for target in imported_modules(MODULES[module]):
        if layer(target) == 4:
            assert layer(module) == 4, f"{module} imports the composition root {target}"
        assert layer(target) <= layer(module), (
            f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        )


def test_services_do_not_touch_http() -> None:
    """Domain code raises domain errors; only web modules know Starlette."""
    web_modules = ("tenants.rest", "tenants.web", "compat.mlflow", "compat.web")
    for module, path in MODULES.items():
        if layer(module) in (1, 2) and not module.startswith(web_modules):
            text = path.read_text()
            assert "starlette" not in text, f"{module} imports starlette"


def test_walk_sees_the_packages() -> None:
    assert {"gateway.db", "tenants.authorization", "compat.mlflow.routes", "compat.web.routes"} <= set(MODULES)


def test_the_web_pages_do_not_speak_mlflow() -> None:
    """``compat.web`` sits beside the MLflow dialect, not on top of it."""
    for module, path in MODULES.items():
        if module.startswith("compat.web"):
            assert not any(t.startswith("compat.mlflow") for t in imported_modules(path)), module
