"""The operator console in a real Chromium, against the emulators and the real runtime.

The story: an 850 from Acme dies because BC does not know item 1900-S. An operator logs in,
finds the order by its PO number, reads why it died, the item is added in BC (the emulator),
and the operator replays the order from the page and sees it done. A viewer sees everything
but cannot replay; a logged-out visitor is sent to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from console_browser import chromium, require_chromium, screenshot
from effects import StepClock, settle
from world import World

from engine.console import add_user, build_console
from engine.runtime import Runtime
from engine.server import ServedApp, serve_in_thread
from engine.store import JobState
from engine.webhooks import WebhookSettings, build_app

PO_NUMBER = "ACME-PO-7001"
OPERATOR = ("olga", "operator password 1")
VIEWER = ("victor", "viewer password 22")
WAIT_SECONDS = 30


@dataclass
class Console:
    world: World
    runtime: Runtime
    served: ServedApp
    chair: dict[str, Any]

    @property
    def url(self) -> str:
        return f"{self.served.url}/console"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    require_chromium()
    state = tmp_path_factory.mktemp("console")
    with World.start() as world:
        chair = next(item for item in world.bc_records("items") if item["number"] == "1900-S")
        world.bc.delete_record("items", "1900-S")
        clock = StepClock()
        with world.runtime(state, clock=clock) as runtime:
            settle(runtime, clock)
            for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
                add_user(runtime.store, name, password, role=role, now=runtime.now())
            app = build_app(runtime, WebhookSettings.for_project(runtime.project), secrets=lambda _name: "x" * 32, console=build_console(runtime))
            with serve_in_thread(app) as served:
                yield Console(world, runtime, served, chair)


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def _wait(driver: Any, css: str, text: str | None = None) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_SECONDS)
    if text is not None:
        wait.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    return wait.until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _log_in(driver: Any, console: Console, user: tuple[str, str], path: str = "/") -> None:
    driver.get(console.url + path)
    _wait(driver, "#name").send_keys(user[0])
    driver.find_element("css selector", "#password").send_keys(user[1])
    driver.find_element("css selector", "#login").click()
    _wait(driver, "#who", user[0])


def _dead_850(console: Console) -> int:
    """The job of the 850's one transaction set (its file job is done: the 997 rejected the set)."""
    jobs = [job for job in console.runtime.store.find_jobs("850_ACME-PO-7001.edi") if job.kind == "transaction"]
    assert len(jobs) == 1
    return jobs[0].id


def test_a_logged_out_visitor_is_sent_to_the_login_page(console: Console, browser: Any) -> None:
    browser.get(f"{console.url}/jobs/{_dead_850(console)}")
    _wait(browser, "#login")
    assert "/console/login" in browser.current_url and "next=" in browser.current_url
    assert "ACME-PO-7001" not in browser.page_source
    screenshot(browser, "login")


def test_an_operator_finds_a_dead_850_by_its_po_number_reads_why_and_replays_it_after_the_fix(console: Console, browser: Any) -> None:
    job_id = _dead_850(console)
    assert console.runtime.store.get(job_id).state is JobState.DEAD
    _log_in(browser, console, OPERATOR)
    _wait(browser, "#waiting", "850_ACME-PO-7001.edi")
    screenshot(browser, "overview")

    browser.find_element("link text", "Jobs").click()
    search = _wait(browser, "#q")
    search.send_keys(PO_NUMBER)
    browser.find_element("css selector", "#search").click()
    _wait(browser, "#count", f"matching “{PO_NUMBER}”")
    rows = browser.find_elements("css selector", "#jobs-table tbody tr")
    # the file's job (done: its 997 rejected the set) and the set's own job (dead)
    assert len(rows) == 2 and all("850_ACME-PO-7001.edi" in row.text for row in rows)
    (dead,) = [row for row in rows if "dead" in row.text]
    screenshot(browser, "jobs")

    dead.find_element("css selector", "a.job-key").click()
    reason = _wait(browser, "#last-error")
    assert "1900-S" in reason.text, reason.text
    timeline = browser.find_element("css selector", "#timeline").text
    assert "enqueued" in timeline and "dead" in timeline
    assert browser.find_elements("css selector", "#artifacts tbody tr"), "the inbound file is listed for download"
    assert "one transaction set of the file of job" in browser.find_element("css selector", "#file-job").text
    beg = browser.find_element("css selector", ".x12 summary span[title^='BEG03 Purchase Order Number']")
    assert beg.text == PO_NUMBER
    screenshot(browser, "document")

    console.world.bc.add_record("items", {k: v for k, v in console.chair.items() if k in ("number", "displayName", "type", "unitPrice", "baseUnitOfMeasureCode")})

    browser.find_element("css selector", "#replay-link").click()
    _wait(browser, "#replay")
    screenshot(browser, "replay")
    browser.find_element("css selector", "#replay").click()
    outcome = _wait(browser, "#outcome", "done")
    assert "created salesOrders" in outcome.text
    assert "done" in browser.find_element("css selector", "h1 .state").text
    assert console.runtime.store.get(job_id).state is JobState.DONE
    orders = [o for o in console.world.bc_records("salesOrders") if o.get("externalDocumentNumber") == PO_NUMBER]
    assert len(orders) == 1
    events = console.runtime.store.job_events(job_id)
    requested = [e for e in events if e.event == "console-replay"]
    assert len(requested) == 1 and (requested[0].detail or {}).get("user") == OPERATOR[0]
    screenshot(browser, "document-after-replay")


def test_a_viewer_reads_the_document_but_cannot_replay_it(console: Console, browser: Any) -> None:
    job_id = _dead_850(console)
    before = len(console.runtime.store.job_events(job_id))
    _log_in(browser, console, VIEWER, f"/jobs/{job_id}/replay")
    _wait(browser, "#no-replay")
    assert not browser.find_elements("css selector", "#replay")
    # Even a hand-made POST with the viewer's own valid CSRF token is refused.
    token = browser.find_element("css selector", "input[name=csrf]").get_attribute("value")
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=' + encodeURIComponent(arguments[1])})"
        ".then(r => r.text().then(t => done([r.status, t])));",
        f"{console.url}/jobs/{job_id}/replay",
        token,
    )
    assert status[0] == 403 and "only operators" in status[1]
    assert len(console.runtime.store.job_events(job_id)) == before
    screenshot(browser, "viewer-replay")


def test_the_partners_page_and_paging_render_in_the_browser(console: Console, browser: Any) -> None:
    _log_in(browser, console, VIEWER, "/partners")
    table = _wait(browser, "#partners")
    assert "acme" in table.text and re.search(r"ISA13 \d+", table.text)
    screenshot(browser, "partners")
    browser.get(f"{console.url}/jobs?size=2")
    _wait(browser, "#older").click()
    _wait(browser, "#first")
    assert len(browser.find_elements("css selector", "#jobs-table tbody tr")) == 2


def test_bad_input_in_the_address_bar_answers_a_clear_page(console: Console, browser: Any, tmp_path: Path) -> None:
    _log_in(browser, console, VIEWER, "/jobs?state=nonsense")
    message = _wait(browser, "#message")
    assert "unknown state 'nonsense'" in message.text
    browser.get(f"{console.url}/jobs/987654321")
    assert "there is no job 987654321" in _wait(browser, "#message").text
