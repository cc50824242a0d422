"""A real browser for tests: Debian's headless Chromium driven by Selenium through Debian's
chromedriver, never anything Selenium Manager would download.

``chromium(folder)`` starts chromedriver (which starts Chromium) with a fresh profile in
``folder`` and yields the WebDriver; at the end it quits, stops chromedriver and Chromium by
PID (the whole process tree, found while it runs) and asserts none of them is left.
``BROWSER_MISSING`` says why no browser can run here ("" when one can); ``scripts/test`` installs
them (``scripts/ensure-chromium``) and sets ``DEPLOYER_REQUIRE_BROWSER=1`` so the tests fail
rather than skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mlops.processes import alive, free_port, terminate_tree, tree

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def _missing() -> str:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is not installed (scripts/ensure-chromium installs it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return ""


BROWSER_MISSING = _missing()


def require_browser() -> None:
    """Skip the test when no browser can run here, or fail when ``DEPLOYER_REQUIRE_BROWSER``."""
    if BROWSER_MISSING:
        if os.environ.get("DEPLOYER_REQUIRE_BROWSER") == "1":
            pytest.fail(BROWSER_MISSING)
        pytest.skip(BROWSER_MISSING)


@contextmanager
def chromium(folder: Path, width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium WebDriver with a fresh profile under ``folder``; see the module."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_browser()
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    # Selenium Manager is never asked (both paths are given); offline all the same.
    env = {**os.environ, "SE_OFFLINE": "true"}
    service = Service(
        CHROMEDRIVER, port=free_port(), log_output=str(folder / "chromedriver.log"), env=env
    )
    previous = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"
    driver = None
    processes = []
    try:
        driver = webdriver.Chrome(service=service, options=options)
        assert service.process is not None
        processes = tree(service.process.pid)  # chromedriver, Chromium and its helpers
        yield driver
    finally:
        processes += tree(service.process.pid) if service.process is not None else []
        try:
            if driver is not None:
                driver.quit()
        finally:
            terminate_tree(None, timeout=5, extra=processes)
            if previous is None:
                os.environ.pop("SE_OFFLINE", None)
            else:
                os.environ["SE_OFFLINE"] = previous
    left = [p.pid for p in processes if alive(p.pid)]
    assert not left, f"chromedriver or Chromium processes left running: {left}"


def log_in(driver: Any, url: str, token: str) -> None:
    """Open the dashboard's login page at ``url`` afresh (no session) and submit ``token``."""
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/ui/login")
    driver.delete_all_cookies()
    driver.get(f"{url}/ui/login")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.submit()


def wait_until(driver: Any, condition: Callable[[Any], Any], seconds: float = 30) -> Any:
    """Poll ``condition(driver)`` until it is truthy (its value) or fail after ``seconds``."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def live_text(driver: Any) -> str:
    """The text of the page's live part (what its script refreshes)."""
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "live").text)
