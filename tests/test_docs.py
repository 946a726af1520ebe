"""The README's configuration table and its commands match the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_configuration_table_lists_exactly_the_settings() -> None:
    documented = set(re.findall(r"^\| `(GATEWAY_[A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    real = {f"GATEWAY_{f.name.upper()}" for f in fields(Settings)}
    assert documented == real


def test_every_setting_is_read_from_its_variable(tmp_path: Path) -> None:
    environ = {
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_PORT": "9999",
        "GATEWAY_BOOTSTRAP": "false",
        "GATEWAY_DB_POOL_TIMEOUT_S": "2.5",
        "GATEWAY_LOG_FORMAT": "text",
    }
    settings = Settings.from_env(environ)
    assert (settings.data_dir, settings.port, settings.bootstrap) == (tmp_path, 9999, False)
    assert (settings.db_pool_timeout_s, settings.log_format) == (2.5, "text")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    assert "\n.ci/test\n" in README
    assert 'exec bash "$(dirname "$0")/test"' in (ROOT / ".ci" / "run").read_text()
