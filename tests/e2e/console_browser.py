"""Chromium for the console's browser tests: Debian's chromium and chromium-driver, driven by
Selenium (no browser is ever downloaded). Missing binaries skip the tests with a message, and
fail them in CI (`CI=true`).

Screenshots go to `$MLC_TEST_ARTIFACTS/console/` (default `build/test-artifacts/console/`);
with `MLC_UPDATE_SCREENSHOTS=1` the overview and a document page are also written to docs/
(the README shows them).
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MLC_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MLC_CHROMEDRIVER", "/usr/bin/chromedriver"))
DOCS_SHOTS = {"overview": "console-overview.png", "document": "console-document.png"}


def require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        message = f"the console's browser tests need Debian's chromium and chromium-driver: {', '.join(missing)} not found"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; they are required in CI")
        pytest.skip(message)


def artifacts_dir() -> Path:
    base = Path(os.environ.get("MLC_TEST_ARTIFACTS", REPO_ROOT / "build" / "test-artifacts"))
    path = base / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium under chromedriver (started on a free loopback port by Selenium)."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: object, name: str) -> Path:
    """A full-page PNG of what the browser shows, as a test artifact (and in docs/ when asked)."""
    path = artifacts_dir() / f"{name}.png"
    # The whole page, not only the window: Chromium's own full-page capture (DevTools protocol).
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})  # type: ignore[attr-defined]
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 1000, f"Chromium wrote no screenshot to {path}"
    if os.environ.get("MLC_UPDATE_SCREENSHOTS") == "1" and name in DOCS_SHOTS:
        shutil.copyfile(path, REPO_ROOT / "docs" / DOCS_SHOTS[name])
    return path
