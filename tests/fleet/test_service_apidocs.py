"""/docs: Swagger UI in a real headless Chromium, served locally behind the API key."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import API_KEY  # noqa: E402
from test_service_dashboard import _login  # noqa: E402

pytestmark = pytest.mark.fleet
#: every route of the API, as Swagger UI shows them
ENDPOINTS = [("POST", "/api/scans"), ("GET", "/api/scans"), ("GET", "/api/targets"),
             ("GET", "/api/scans/{scan_id}"), ("GET", "/api/scans/{scan_id}/report")]


def _log_in(driver: WebDriver, service: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(service + "/login")
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.ID, "login").click()


def test_docs_show_every_endpoint_in_chromium_after_login(service: str, browser: WebDriver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait: WebDriverWait[WebDriver] = WebDriverWait(driver, 40)

    # without the key: the login page, no docs
    driver.get(service + "/docs")
    wait.until(ec.url_contains("/login"))
    assert not driver.find_elements(By.CSS_SELECTOR, ".opblock")
    _log_in(driver, service, "wrong key!!")
    driver.get(service + "/docs")
    wait.until(ec.url_contains("/login"))

    _log_in(driver, service, API_KEY)
    wait.until(ec.presence_of_element_located((By.ID, "scan-url")))  # the dashboard
    driver.find_element(By.LINK_TEXT, "API docs").click()
    wait.until(ec.url_matches(r"/docs$"))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(ENDPOINTS))
    shown = {
        (block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
         block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
             "data-path"))
        for block in driver.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    assert set(ENDPOINTS) <= shown, shown
    assert "apigrade service" in driver.find_element(By.CSS_SELECTOR, ".info .title").text
    # interactive: give the key to Authorize, then run GET /api/targets from the page
    driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
    dialog = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container")))
    dialog.find_element(By.CSS_SELECTOR, "input").send_keys(API_KEY)
    dialog.find_element(By.CSS_SELECTOR, "button.authorize").click()
    driver.find_element(By.CSS_SELECTOR, "button.btn-done").click()
    block = driver.find_element(By.ID, "operations-scans-list_targets_api_targets_get")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".try-out__btn"))).click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button.execute"))).click()
    status = wait.until(ec.visibility_of_element_located(
        (By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")))
    assert status.text.strip() == "200"
    # nothing was blocked by the page's CSP, nothing loaded from elsewhere
    logs = driver.get_log("browser")  # type: ignore[attr-defined]  # Chrome's driver
    assert not [e for e in logs if "Content Security Policy" in e["message"]], logs
    requested = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert requested and all(u.startswith(service + "/") for u in requested), requested


def test_docs_and_their_document_need_the_key(service: str) -> None:
    with httpx.Client(base_url=service) as c:
        r = c.get("/docs")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        r = c.get("/docs/openapi.json")
        assert r.status_code == 303 and "paths" not in r.text
        assert c.get("/docs", headers={"X-API-Key": "wrong key!!"}).status_code == 403
        assert c.get("/docs/openapi.json",
                     headers={"X-API-Key": "wrong key!!"}).status_code == 403

        r = c.get("/docs", headers={"X-API-Key": API_KEY})
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert "http" not in csp and "unsafe-eval" not in csp
        assert "<code>GET /api/targets</code>" in r.text  # the list without script
        doc = c.get("/docs/openapi.json", headers={"X-API-Key": API_KEY}).json()
        assert "/api/scans" in doc["paths"]

        _login(c)  # the dashboard session is enough
        assert c.get("/docs").status_code == 200
        assert "/api/scans" in c.get("/docs/openapi.json").json()["paths"]


def test_docs_assets_are_the_local_swagger_ui_and_nothing_else(service: str) -> None:
    with httpx.Client(base_url=service) as c:
        js = c.get("/docs/assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and "SwaggerUIBundle" in js.text
        assert js.headers["content-type"].startswith("text/javascript")
        assert c.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith(
            "text/css")
        for name in ("index.html", "..%2F__init__.py", "swagger-ui-bundle.js.map"):
            assert c.get(f"/docs/assets/{name}").status_code == 404
