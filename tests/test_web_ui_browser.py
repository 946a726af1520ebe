"""The web UI in a real browser (headless Debian chromium through Selenium) against the live gateway.

One browser and one seeded project for the whole module, signed in once through the sign-in form.
The waits are bounded conditions (an element appears), never assertions about time.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from gateway.db import Database
from gateway.settings import Settings
from tests.support.browser import chromium_available, headless_chromium
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.ui_data import PASSWORD, SeededProject, seed_project
from tests.support.world import World

pytestmark = pytest.mark.skipif(
    not chromium_available() and os.environ.get("CI") != "true",
    reason="needs Debian's chromium and chromium-driver (.ci/test installs them; CI always runs these tests)",
)
WAIT_S = 30


@dataclass
class Session:
    driver: webdriver.Chrome
    server: LiveServer
    seeded: SeededProject
    landed_on: str

    @property
    def ml(self) -> str:
        return self.seeded.ml(self.server.base_url)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait_for(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT_S).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def wait_for_count(self, css: str, count: int) -> list[WebElement]:
        WebDriverWait(self.driver, WAIT_S).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= count)
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def run_names(self) -> list[str]:
        return [link.text for link in self.driver.find_elements(By.CSS_SELECTOR, "#runs .run-link")]

    def select_runs(self, *names: str) -> None:
        for row in self.driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr"):
            if row.find_element(By.CSS_SELECTOR, ".run-link").text in names:
                row.find_element(By.CSS_SELECTOR, "input[name=run]").click()

    def click_and_confirm(self, css: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, css).click()
        WebDriverWait(self.driver, WAIT_S).until(expected_conditions.alert_is_present()).accept()

    def http(self) -> httpx.Client:
        """httpx with the browser's cookies (to fetch what the browser would download)."""
        cookies = {c["name"]: c["value"] for c in self.driver.get_cookies()}
        return httpx.Client(base_url=self.server.base_url, cookies=cookies)


@pytest.fixture(scope="module")
def ui(live_server: LiveServer, database: Database, settings: Settings) -> Iterator[Session]:
    seeded = seed_project(live_server, World(database, settings.secret_key_bytes()))
    with headless_chromium() as driver:
        session = Session(driver, live_server, seeded, "")
        session.open(f"{session.ml}/experiments")  # not signed in: the sign-in form, then back here
        session.wait_for("#sign-in")
        driver.find_element(By.ID, "username").send_keys(seeded.developer.username)
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()
        session.wait_for("#experiments")
        session.landed_on = driver.current_url
        yield session


def test_sign_in_returns_to_the_page_asked_for(ui: Session) -> None:
    assert ui.landed_on == f"{ui.ml}/experiments"
    assert ui.driver.find_element(By.CSS_SELECTOR, "[data-testid=viewer]").text == ui.seeded.developer.username
    cookie = ui.driver.get_cookie("_mlgateway_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_open_an_experiment_and_filter_its_runs(ui: Session) -> None:
    ui.open(f"{ui.ml}/experiments")
    ui.driver.find_element(By.LINK_TEXT, ui.seeded.experiment_name).click()
    ui.wait_for("#runs")
    assert sorted(ui.run_names()) == ["adam-fast", "adam-slow", "baseline", "deeper-trees"]
    box = ui.driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("metrics.r2 > 0.4 AND tags.`team` = 'ml platform'")
    box.submit()
    WebDriverWait(ui.driver, WAIT_S).until(lambda d: "filter=" in d.current_url)
    assert sorted(ui.run_names()) == ["adam-fast", "adam-slow"]
    box = ui.driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("metrics.r2 >> 0.4")
    box.submit()
    error = ui.wait_for("#filter-error")
    assert "0.4" in error.text or "Invalid" in error.text or "filter" in error.text.lower()


def test_a_runs_metric_history_is_drawn(ui: Session) -> None:
    ui.open(f"{ui.ml}/experiments/{ui.seeded.experiment_id}")
    ui.driver.find_element(By.LINK_TEXT, "adam-fast").click()
    ui.wait_for("#details")
    assert ui.driver.find_element(By.CSS_SELECTOR, "#ci-job a").get_attribute("href") == (
        "https://gitlab.example.com/ml/churn/-/jobs/4711"
    )
    charts = ui.wait_for_count("#metric-charts .chart .main-svg", 3)
    titles = {c.get_attribute("data-metric") for c in ui.driver.find_elements(By.CSS_SELECTOR, "#metric-charts .chart")}
    assert titles == {"accuracy", "loss", "r2"} and len(charts) >= 3
    loss = ui.driver.find_element(By.CSS_SELECTOR, "#metric-charts [data-metric=loss]")
    assert len(loss.find_elements(By.CSS_SELECTOR, "path.js-line")) == 1  # one run, one line
    Select(ui.driver.find_element(By.CSS_SELECTOR, "[data-x-axis]")).select_by_value("time")
    ui.wait_for_count("#metric-charts .chart .main-svg", 3)
    assert "artifacts/confusion.csv" in ui.driver.find_element(By.CSS_SELECTOR, "#artifacts a").get_attribute("href")


def test_compare_two_runs(ui: Session) -> None:
    ui.open(f"{ui.ml}/experiments/{ui.seeded.experiment_id}")
    ui.wait_for("#runs")
    ui.select_runs("adam-fast", "adam-slow")
    ui.driver.find_element(By.ID, "compare").click()
    ui.wait_for("#compare-params")
    assert ui.driver.title.startswith("Compare 2 runs")
    ui.wait_for("#parallel-coordinates .main-svg")
    ui.wait_for("#scatter .main-svg")
    ui.wait_for("#metric-charts [data-metric=loss] .main-svg")
    lines = ui.driver.find_elements(By.CSS_SELECTOR, "#metric-charts [data-metric=loss] .scatterlayer path.js-line")
    assert len(lines) == 2  # one line per run
    optimizer = ui.driver.find_element(By.XPATH, "//table[@id='compare-params']//tr[th='optimizer']")
    rate = ui.driver.find_element(By.XPATH, "//table[@id='compare-params']//tr[th='learning_rate']")
    assert optimizer.is_displayed() and rate.is_displayed()
    ui.driver.find_element(By.ID, "only-differences").click()
    assert not optimizer.is_displayed() and rate.is_displayed()


def test_download_the_csv(ui: Session) -> None:
    ui.open(f"{ui.ml}/experiments/{ui.seeded.experiment_id}?filter=params.optimizer+%3D+%27adam%27")
    link = ui.wait_for("#download-all-csv").get_attribute("href")
    assert link
    with ui.http() as client:
        answer = client.get(link)
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:6] == ["Run ID", "Name", "Source Type", "Source Name", "User", "Status"]
    assert rows[0][6:] == ["learning_rate", "max_depth", "optimizer", "accuracy", "loss", "r2"]
    assert sorted(row[1] for row in rows[1:]) == ["adam-fast", "adam-slow"]


def test_delete_and_restore_a_run(ui: Session) -> None:
    http = MlflowHttp(ui.server, ui.seeded.project.id, ui.seeded.developer_token)
    run_id = http.run(ui.seeded.experiment_id, run_name="throwaway")["info"]["run_id"]
    ui.open(f"{ui.ml}/experiments/{ui.seeded.experiment_id}")
    ui.wait_for("#runs")
    ui.select_runs("throwaway")
    ui.click_and_confirm("#delete-selected")
    assert ui.wait_for("[data-testid=notice]").text == "Deleted 1 run(s)."
    assert "throwaway" not in ui.run_names()
    assert http.fetch(run_id)["info"]["lifecycle_stage"] == "deleted"
    Select(ui.driver.find_element(By.ID, "state")).select_by_value("deleted")
    ui.driver.find_element(By.ID, "filter").submit()
    WebDriverWait(ui.driver, WAIT_S).until(lambda d: "state=deleted" in d.current_url)
    assert ui.run_names() == ["throwaway"]
    ui.select_runs("throwaway")
    ui.driver.find_element(By.ID, "restore-selected").click()
    assert ui.wait_for("[data-testid=notice]").text == "Restored 1 run(s)."
    assert http.fetch(run_id)["info"]["lifecycle_stage"] == "active"


def test_another_projects_url_answers_404(ui: Session, database: Database, settings: Settings) -> None:
    other = World(database, settings.secret_key_bytes()).project()
    ui.open(f"{ui.server.base_url}/{other.full_path}/-/ml/experiments")
    assert ui.wait_for("h1").text == "Page not found"
    ui.open(f"{ui.ml}/candidates/999999")
    assert ui.wait_for("h1").text == "Page not found"
