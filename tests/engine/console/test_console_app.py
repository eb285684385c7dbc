"""Every route of the console app through Starlette's test client: login and roles, CSRF,
sessions, masking, paging, search, bad input. The store is real (SQLite), seeded through its API."""

from __future__ import annotations

import re

import pytest
from console_support import (
    FILLERS,
    ISA13,
    OPERATOR,
    PO_NUMBER,
    SECRET,
    VIEWER,
    Clock,
    Seeded,
    client_for,
    csrf_of,
    log_in,
)
from starlette.testclient import TestClient

from engine.console.pages import _review
from engine.console.queries import MAX_QUERY_CHARS
from engine.console.security import COOKIE, MAX_FAILURES, WINDOW_SECONDS
from engine.runtime import Runtime
from engine.store import JobState


def _page_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<td class="num"><a href="/console/jobs/(\d+)">', html)]


# -- login, sessions, roles -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/console/", id="overview"),
        pytest.param("/console/jobs", id="jobs"),
        pytest.param("/console/jobs?q=anything", id="search"),
        pytest.param("/console/jobs/1", id="document"),
        pytest.param("/console/jobs/1/artifacts/1", id="download"),
        pytest.param("/console/jobs/1/replay", id="replay-preview"),
        pytest.param("/console/partners", id="partners"),
    ],
)
def test_every_page_sends_a_visitor_without_a_session_to_the_login_page(client: TestClient, seeded: Seeded, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=")
    assert SECRET not in answer.text and PO_NUMBER not in answer.text


@pytest.mark.parametrize("path", ["/console/jobs/1/replay", "/console/jobs/1/reapply", "/console/logout"])
def test_every_action_is_refused_without_a_session(client: TestClient, seeded: Seeded, path: str) -> None:
    answer = client.post(path, data={"csrf": "guess"})
    assert answer.status_code == 403
    assert "no session cookie" in answer.text


def test_the_login_page_sets_a_strict_httponly_session_cookie_without_secure_over_http(client: TestClient, seeded: Seeded) -> None:
    answer = client.get("/console/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie and "Path=/console/" in cookie


def test_over_https_the_session_cookie_is_secure(runtime: Runtime, seeded: Seeded) -> None:
    with client_for(runtime, https=True) as client:
        token = csrf_of(client.get("/console/login").text)
        answer = client.post("/console/login", data={"csrf": token, "name": OPERATOR[0], "password": OPERATOR[1]})
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"] and "HttpOnly" in answer.headers["set-cookie"]


def test_a_login_leads_to_the_page_asked_for_and_a_new_csrf_token(client: TestClient, seeded: Seeded) -> None:
    before = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"csrf": before, "name": OPERATOR[0], "password": OPERATOR[1], "next": "/console/partners"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/partners"
    page = client.get("/console/partners")
    assert page.status_code == 200 and f"{OPERATOR[0]} (operator)" in page.text
    assert csrf_of(page.text) != before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/elsewhere"])
def test_a_login_never_redirects_outside_the_console(client: TestClient, seeded: Seeded, target: str) -> None:
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"csrf": token, "name": VIEWER[0], "password": VIEWER[1], "next": target})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"


def test_a_wrong_password_is_refused_with_401_and_names_neither_user_nor_password(client: TestClient, seeded: Seeded) -> None:
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"csrf": token, "name": OPERATOR[0], "password": "not the password"})
    assert answer.status_code == 401 and "wrong user name or password" in answer.text
    assert "not the password" not in answer.text
    assert client.get("/console/").status_code == 303


def test_logins_are_rate_limited_per_user_name_until_the_window_has_passed(client: TestClient, seeded: Seeded, limiter_clock: Clock) -> None:
    token = csrf_of(client.get("/console/login").text)
    for _ in range(MAX_FAILURES):
        assert client.post("/console/login", data={"csrf": token, "name": OPERATOR[0], "password": "wrong guess 123"}).status_code == 401
    refused = client.post("/console/login", data={"csrf": token, "name": OPERATOR[0], "password": OPERATOR[1]})
    assert refused.status_code == 429 and "too many failed logins" in refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_SECONDS + 1
    limiter_clock.now += WINDOW_SECONDS + 1
    assert client.post("/console/login", data={"csrf": token, "name": OPERATOR[0], "password": OPERATOR[1]}).status_code == 303


def test_a_login_without_the_csrf_token_of_its_session_is_refused(client: TestClient, seeded: Seeded) -> None:
    client.get("/console/login")
    answer = client.post("/console/login", data={"csrf": "forged", "name": OPERATOR[0], "password": OPERATOR[1]})
    assert answer.status_code == 403 and "security token" in answer.text


def test_a_tampered_session_cookie_counts_as_no_session(client: TestClient, seeded: Seeded) -> None:
    log_in(client, OPERATOR)
    value = client.cookies[COOKIE]
    client.cookies.set(COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"), path="/console/")
    assert client.get("/console/").status_code == 303


def test_logging_out_ends_the_session(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, VIEWER)
    answer = client.post("/console/logout", data={"csrf": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert client.get("/console/").status_code == 303


def test_a_removed_user_is_logged_out_at_the_next_request(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    from engine.console import remove_user

    log_in(client, VIEWER)
    assert client.get("/console/").status_code == 200
    assert remove_user(runtime.store, VIEWER[0])
    assert client.get("/console/").status_code == 303


# -- CSRF and roles on actions ----------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
def test_a_replay_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client: TestClient, seeded: Seeded, runtime: Runtime, token: str | None) -> None:
    log_in(client, OPERATOR)
    events = len(runtime.store.job_events(seeded.dead_file))
    answer = client.post(f"/console/jobs/{seeded.dead_file}/replay", data={} if token is None else {"csrf": token})
    assert answer.status_code == 403 and "security token" in answer.text
    assert runtime.store.get(seeded.dead_file).state is JobState.DEAD
    assert len(runtime.store.job_events(seeded.dead_file)) == events


def test_a_post_from_another_site_is_refused_even_with_the_token(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, OPERATOR)
    answer = client.post(f"/console/jobs/{seeded.dead_file}/replay", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "another site" in answer.text


def test_the_csrf_token_is_also_taken_from_the_htmx_header(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, OPERATOR)
    answer = client.post(f"/console/jobs/{seeded.running}/replay", headers={"X-CSRF-Token": token})
    assert answer.status_code == 409  # past the CSRF check: the job is running


def test_a_viewer_can_read_the_replay_preview_but_not_replay(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    token = log_in(client, VIEWER)
    preview = client.get(f"/console/jobs/{seeded.dead_file}/replay")
    assert preview.status_code == 200 and 'id="no-replay"' in preview.text and 'id="replay"' not in preview.text
    answer = client.post(f"/console/jobs/{seeded.dead_file}/replay", data={"csrf": token})
    assert answer.status_code == 403 and "only operators" in answer.text
    assert not [e for e in runtime.store.job_events(seeded.dead_file) if e.event.startswith("console")]


def test_a_running_job_cannot_be_replayed_from_the_console(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    token = log_in(client, OPERATOR)
    answer = client.post(f"/console/jobs/{seeded.running}/replay", data={"csrf": token})
    assert answer.status_code == 409 and "is running (worker another-worker)" in answer.text
    assert runtime.store.get(seeded.running).state is JobState.RUNNING
    assert not runtime.store.job_events(seeded.running)


def test_replaying_an_unknown_job_answers_404(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, OPERATOR)
    assert client.post("/console/jobs/99999/replay", data={"csrf": token}).status_code == 404


def test_a_fetch_job_has_no_replay_preview(client: TestClient, seeded: Seeded) -> None:
    log_in(client, OPERATOR)
    answer = client.get(f"/console/jobs/{seeded.fetch}/replay")
    assert answer.status_code == 409 and "only document, file and transaction jobs have an input to replay" in answer.text


def test_reapply_answers_501_when_the_build_has_no_reapply_action(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, OPERATOR)
    answer = client.post(f"/console/jobs/{seeded.dead_file}/reapply", data={"csrf": token})
    assert answer.status_code == 501 and "not available" in answer.text


def test_reapply_needs_an_operator(client: TestClient, seeded: Seeded) -> None:
    token = log_in(client, VIEWER)
    assert client.post(f"/console/jobs/{seeded.dead_file}/reapply", data={"csrf": token}).status_code == 403


# -- pages ------------------------------------------------------------------------------------


def test_the_overview_shows_dead_jobs_first_route_states_overdue_997s_and_poll_failures(client: TestClient, seeded: Seeded) -> None:
    log_in(client, VIEWER)
    page = client.get("/console/").text
    waiting = page[page.index('id="waiting"') : page.index("</table>", page.index('id="waiting"'))]
    assert f"/console/jobs/{seeded.dead_file}" in waiting and "inbox/850_unit.edi@abc123" in waiting
    routes = page[page.index('id="routes"') : page.index("</table>", page.index('id="routes"'))]
    assert all(name in routes for name in seeded.routes)
    overdue = page[page.index('id="overdue"') : page.index("</table>", page.index('id="overdue"'))]
    assert seeded.partners[1] in overdue and "3 d ago" in overdue
    failures = page[page.index('id="failures"') : page.index("</table>", page.index('id="failures"'))]
    assert '<td class="num error">1</td>' in failures
    assert "failed (503): cleo answered 503" in routes


def test_the_document_page_shows_the_trail_the_x12_with_element_names_and_the_reason_it_died(client: TestClient, seeded: Seeded) -> None:
    log_in(client, VIEWER)
    page = client.get(f"/console/jobs/{seeded.dead_file}").text
    assert "not found in bc: items &#39;PART-1&#39;" in page
    assert re.search(r'title="BEG03 Purchase Order Number \(AN 1/22\)">' + PO_NUMBER + "<", page)
    assert 'title="BEG01 Transaction Set Purpose Code (ID 2/2): 00 = Original"' in page
    assert "<td>Each</td>" in page  # PO103 EA, its meaning beside it
    assert "HTTP 404" in page and "12.5 ms" in page
    assert [e for e in ("received", "create", "dead") if f'class="ev">{e}<' in page] == ["received", "create", "dead"]


def test_the_document_page_of_an_outbound_document_names_its_997(client: TestClient, seeded: Seeded) -> None:
    log_in(client, VIEWER)
    page = client.get(f"/console/jobs/{seeded.done_document}").text
    acks = page[page.index('id="acks"') : page.index("</table>", page.index('id="acks"'))]
    assert "A (accepted)" in acks and "997_for_INV-9001.edi" in acks and seeded.outbound_file in acks
    assert "&#34;externalDocumentNumber&#34;: &#34;CUST-PO-77&#34;" in page or '"externalDocumentNumber": "CUST-PO-77"' in page.replace("&#34;", '"')


def test_secrets_never_appear_on_a_page_or_in_a_download(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    log_in(client, OPERATOR)
    runtime.store.put_artifact(seeded.dead_file, "note", "note.txt", f"password={SECRET}\n".encode(), "text/plain")
    pages = [client.get(path).text for path in ("/console/", f"/console/jobs/{seeded.dead_file}", "/console/jobs?state=dead", f"/console/jobs/{seeded.dead_file}/replay")]
    assert all(SECRET not in page for page in pages)
    assert "token ***" in pages[1] and "read with ***" in pages[1]
    note = next(a for a in runtime.store.artifacts(seeded.dead_file) if a.role == "note")
    download = client.get(f"/console/jobs/{seeded.dead_file}/artifacts/{note.id}")
    assert download.status_code == 200 and download.content == b"password=***\n"
    assert download.headers["content-disposition"] == 'attachment; filename="note.txt"'


def test_an_artifact_downloads_as_its_stored_bytes(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    log_in(client, VIEWER)
    stored = runtime.store.artifact(seeded.dead_file, "input")
    assert stored is not None
    answer = client.get(f"/console/jobs/{seeded.dead_file}/artifacts/{stored.id}")
    assert answer.content == stored.content and answer.headers["content-type"] == "application/octet-stream"
    assert client.get(f"/console/jobs/{seeded.done_document}/artifacts/{stored.id}").status_code == 404, "an artifact is read through its own job only"


def test_the_partners_page_shows_every_partner_with_its_routes_and_counters(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    log_in(client, VIEWER)
    page = client.get("/console/partners").text
    for partner in seeded.partners:
        assert f'href="/console/jobs?partner={partner}"' in page
    assert "ISA13 42" in page  # 41 taken: the next is 42
    first = seeded.partners[0]
    row = page[page.index(f"?partner={first}") :]
    row = row[: row.index("</tr>")]
    assert all(f"route={route}&amp;partner={first}" in row for route in (r for r in seeded.routes if runtime.project.takes_part(runtime.project.partners[first], r)))


def test_the_static_files_are_served_from_the_package_with_htmx_and_its_license(client: TestClient) -> None:
    script = client.get("/console/static/htmx.min.js")
    assert script.status_code == 200 and b"htmx" in script.content[:2000]
    assert "Zero-Clause BSD" in client.get("/console/static/htmx.LICENSE.txt").text
    assert client.get("/console/static/console.css").status_code == 200


def test_pages_forbid_framing_and_caching(client: TestClient, seeded: Seeded) -> None:
    log_in(client, VIEWER)
    answer = client.get("/console/")
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in answer.headers["content-security-policy"]


# -- the job list: filters, search, paging -------------------------------------------------------


def test_the_job_list_pages_newest_first_without_gaps_or_repeats(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    log_in(client, VIEWER)
    seen: list[int] = []
    path = "/console/jobs?size=50"
    pages = 0
    while path:
        page = client.get(path).text
        pages += 1
        seen += _page_ids(page)
        older = re.search(r'href="(/console/jobs\?[^"]+)" id="older"', page)
        path = older.group(1).replace("&amp;", "&") if older else ""
    total = FILLERS + 4
    assert pages == 3 and seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen) == total
    assert f"{total} job(s)" in client.get("/console/jobs").text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(PO_NUMBER, "dead_file", id="po-number-inside-the-file"),
        pytest.param(ISA13, "dead_file", id="isa13-of-the-file"),
        pytest.param("inbox/850_unit.edi@abc123", "dead_file", id="job-key"),
        pytest.param("850_unit.edi", "dead_file", id="file-name"),
        pytest.param("INV-9001", "done_document", id="invoice-number"),
        pytest.param("CUST-PO-77", "done_document", id="po-number-in-erp-json"),
        pytest.param("777", "done_document", id="isa13-sent"),
        pytest.param("810_unit_INV-9001.edi", "done_document", id="outbound-file-name"),
    ],
)
def test_a_search_finds_the_job_by_any_business_number(client: TestClient, seeded: Seeded, query: str, expected: str) -> None:
    log_in(client, VIEWER)
    page = client.get("/console/jobs", params={"q": query}).text
    assert _page_ids(page) == [getattr(seeded, expected)]


def test_a_search_by_job_id_and_one_that_finds_nothing(client: TestClient, seeded: Seeded) -> None:
    log_in(client, VIEWER)
    assert _page_ids(client.get("/console/jobs", params={"q": str(seeded.running)}).text) == [seeded.running]
    page = client.get("/console/jobs", params={"q": "NO-SUCH-NUMBER"}).text
    assert _page_ids(page) == [] and "0 job(s)" in page


def test_filters_by_state_route_partner_and_date_combine(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    log_in(client, VIEWER)
    assert _page_ids(client.get("/console/jobs", params={"state": "dead"}).text) == [seeded.dead_file]
    assert _page_ids(client.get("/console/jobs", params={"state": "running", "route": seeded.routes[0]}).text) == [seeded.running]
    by_partner = _page_ids(client.get("/console/jobs", params={"partner": seeded.partners[1], "size": "200"}).text)
    assert by_partner and all(runtime.store.get(job_id).partner == seeded.partners[1] for job_id in by_partner)
    today = runtime.now().date().isoformat()
    assert len(_page_ids(client.get("/console/jobs", params={"from": today, "to": today, "size": "200"}).text)) == FILLERS + 4
    assert _page_ids(client.get("/console/jobs", params={"to": "2000-01-01"}).text) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"state": "bogus"}, "unknown state &#39;bogus&#39;; expected one of", id="state"),
        pytest.param({"route": "no-such-route"}, "unknown route &#39;no-such-route&#39;", id="route"),
        pytest.param({"partner": "nobody"}, "unknown partner &#39;nobody&#39;", id="partner"),
        pytest.param({"from": "yesterday"}, "from &#39;yesterday&#39; is not a date; expected YYYY-MM-DD", id="date"),
        pytest.param({"from": "2024-02-02", "to": "2024-02-01"}, "ends (2024-02-01) before it starts", id="range"),
        pytest.param({"before": "-5"}, "before &#39;-5&#39; is not a whole number", id="before"),
        pytest.param({"size": "100000"}, "size &#39;100000&#39; is not a whole number from 1 to 200", id="size"),
        pytest.param({"q": "x" * (MAX_QUERY_CHARS + 1)}, f"at most {MAX_QUERY_CHARS}", id="oversized-query"),
        pytest.param({"sort": "id"}, "unknown parameter &#39;sort&#39;", id="unknown-parameter"),
    ],
)
def test_a_malformed_filter_answers_400_with_what_was_wrong(client: TestClient, seeded: Seeded, params: dict[str, str], message: str) -> None:
    log_in(client, VIEWER)
    answer = client.get("/console/jobs", params=params)
    assert answer.status_code == 400 and message in answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        pytest.param("/console/jobs/99999", 404, "there is no job 99999", id="unknown-job"),
        pytest.param("/console/jobs/abc", 400, "job id &#39;abc&#39; is not a number", id="non-numeric-job"),
        pytest.param("/console/jobs/" + "9" * 40, 400, "is not a number", id="huge-job-id"),
        pytest.param("/console/jobs/1/artifacts/99999", 404, "has no artifact 99999", id="unknown-artifact"),
        pytest.param("/console/jobs/99999/replay", 404, "there is no job 99999", id="unknown-replay"),
        pytest.param("/console/no-such-page", 404, "no such page", id="unknown-page"),
    ],
)
def test_unknown_ids_and_pages_answer_a_clear_page(client: TestClient, seeded: Seeded, path: str, status: int, message: str) -> None:
    log_in(client, VIEWER)
    answer = client.get(path)
    assert answer.status_code == status and message in answer.text and "Traceback" not in answer.text


def test_a_review_table_is_read_generically_from_the_jobs_stored_lists() -> None:
    tables = _review({"differences": [{"line": 1, "field": "quantity", "ours": 20, "theirs": 15}, {"line": 2, "status": "IR"}], "summary": "x"}, None)
    assert tables == [{"name": "differences", "columns": ["line", "field", "ours", "theirs", "status"], "rows": [[1, "quantity", 20, 15, None], [2, None, None, None, "IR"]]}]


def test_without_a_console_the_server_has_no_console_pages(runtime: Runtime) -> None:
    from engine.webhooks import WebhookSettings, build_app

    app = build_app(runtime, WebhookSettings.for_project(runtime.project), secrets=lambda _name: "x" * 32)
    with TestClient(app) as client:
        assert client.get("/console/login").status_code == 404
