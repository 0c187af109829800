"""The dashboard in a real headless Chromium: log in, start a scan from the form, see its
grade appear; plus the cookie and CSRF rules checked over plain HTTP."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import API_KEY, serve_targets, tiny_app  # noqa: E402

pytestmark = pytest.mark.fleet
def test_start_a_scan_from_the_form_and_see_its_grade(service: str, browser: WebDriver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait: WebDriverWait[WebDriver] = WebDriverWait(driver, 40)
    with serve_targets(1, lambda i: tiny_app("dash")) as (target,):
        driver.get(service + "/")
        wait.until(ec.url_contains("/login"))
        driver.find_element(By.ID, "api-key").send_keys("wrong key!!")
        driver.find_element(By.ID, "login").click()
        assert "wrong API key" in wait.until(
            ec.presence_of_element_located((By.ID, "error"))).text
        driver.find_element(By.ID, "api-key").send_keys(API_KEY)
        driver.find_element(By.ID, "login").click()

        wait.until(ec.presence_of_element_located((By.ID, "scan-url"))).send_keys(target)
        driver.find_element(By.ID, "start-scan").click()
        wait.until(ec.url_matches(r"/scans/[0-9a-f]{32}$"))
        grade = wait.until(ec.presence_of_element_located((By.ID, "grade"))).text
        assert re.fullmatch("[ABCDF]", grade)
        assert driver.find_element(By.ID, "status").text == "completed"

        cookies = {c["name"]: c for c in driver.get_cookies()}
        session = cookies["apigrade_session"]
        assert session["httpOnly"] is True and session["sameSite"] == "Strict"

        driver.get(service + "/")
        row = wait.until(ec.presence_of_element_located((By.ID, "targets")))
        assert target in row.text and f" {grade} " in f" {row.text} "
        assert driver.find_elements(By.CSS_SELECTOR, "#targets svg.spark")

        driver.find_element(By.LINK_TEXT, target).click()
        assert wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg.trend")))


def _login(c: httpx.Client) -> str:
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = c.post("/login", data={"csrf": token.group(1), "api_key": API_KEY})
    assert r.status_code == 303, r.text
    home = c.get("/")
    found = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert found
    return found.group(1)


def test_forms_need_the_csrf_token_and_same_origin(service: str) -> None:
    with httpx.Client(base_url=service) as c:
        assert c.get("/").headers["location"] == "/login"
        r = c.post("/login", data={"csrf": "forged", "api_key": API_KEY})
        assert r.status_code == 400 and "apigrade_session" not in r.cookies
        csrf = _login(c)
        r = c.post("/scans", data={"url": "http://127.0.0.1:9/"})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = c.post("/scans", data={"url": "http://127.0.0.1:9/", "csrf": csrf},
                   headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        r = c.post("/scans", data={"url": "http://10.0.0.1/", "csrf": csrf})
        assert r.status_code == 400 and "not allowed" in r.text
        r = c.get("/")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "<script" not in r.text
