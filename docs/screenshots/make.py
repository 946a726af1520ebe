"""Regenerate the README's screenshots of the web UI: ``.venv/bin/python docs/screenshots/make.py``.

Starts a gateway on a throwaway SQLite database, fills a project through the MLflow REST API (the
data of ``tests/support/ui_data.py``), signs in with headless chromium and saves PNGs next to this
file. Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/test`` installs them).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from gateway import migrate  # noqa: E402
from gateway.db import Database  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from tests.support.browser import headless_chromium  # noqa: E402
from tests.support.live_server import start_live_server  # noqa: E402
from tests.support.ui_data import PASSWORD, seed_project  # noqa: E402
from tests.support.world import World  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data),
            database_url=f"sqlite:///{data}/gateway.sqlite3",
            secret_key=secrets.token_urlsafe(32),
            bootstrap=False,
        )
        database = Database.from_settings(settings)
        migrate.upgrade(database.engine)
        with start_live_server(settings, database) as server, headless_chromium(width=1360, height=900) as driver:
            seeded = seed_project(server, World(database, settings.secret_key_bytes()))
            ml = seeded.ml(server.base_url)
            wait = WebDriverWait(driver, 30)

            def shot(name: str, url: str, ready: str, height: int = 900, count: int = 1) -> None:
                metrics = {"width": 1360, "height": height, "deviceScaleFactor": 1, "mobile": False}
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                driver.get(url)
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ready)) >= count)
                driver.save_screenshot(str(HERE / f"{name}.png"))
                print("saved", name)

            shot("sign-in", f"{server.base_url}/users/sign_in", "#sign-in", 560)
            driver.find_element(By.ID, "username").send_keys(seeded.developer.username)
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()
            wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=viewer]")))
            shot("experiments", f"{ml}/experiments", "#experiments", 480)
            shot("experiment", f"{ml}/experiments/{seeded.experiment_id}", "#runs", 720)
            adam = next(run for run in seeded.runs if run.name == "adam-fast")
            shot("run", f"{ml}/candidates/{adam.run_id}", "#metric-charts .chart .main-svg", 1330, count=6)
            runs = "&".join(f"run={run.run_id}" for run in seeded.runs)
            shot("compare", f"{ml}/compare?{runs}", ".main-svg", 2050, count=10)
            shot("models", f"{ml}/models", "#models", 420)
        database.dispose()


if __name__ == "__main__":
    main()
