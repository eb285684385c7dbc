"""The console's pages and actions (routes in engine.console.app). Each reads the store in
Starlette's thread pool and renders one template."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.console import queries
from engine.console.access import csrf_refusal, login_attempt, page
from engine.console.references import catch_up
from engine.console.security import COOKIE, Session, new_csrf
from engine.console.users import User
from engine.console.x12view import annotate, looks_like_x12
from engine.errors import MlcError, StoreError, UsageError
from engine.runtime.transactions import transaction_bytes
from engine.store import Job, JobState

if TYPE_CHECKING:
    from engine.console.app import Console

ATTENTION_STATES = ("dead", "review")
MAX_SHOWN_BYTES = 512 * 1024
MAX_FORM_FIELD = 1024


def _job_id(request: Request, name: str = "job_id") -> int:
    text = str(request.path_params[name])
    if not text.isdigit() or len(text) > 18:
        raise queries.BadInput(f"{name.replace('_', ' ')} {text[:40]!r} is not a number")
    return int(text)


def _states(console: Console) -> list[str]:
    known = [state.value for state in JobState]
    return known + [state for state in ATTENTION_STATES if state not in known]


# -- login ----------------------------------------------------------------------------------


def _next(request: Request, value: str | None) -> str:
    base = str(request.scope.get("root_path", "")).rstrip("/")
    # Only a path inside the console: never an open redirect to another site.
    if value and value.startswith(base + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return base + "/"


async def login_form(console: Console, request: Request) -> Response:
    session = console.session(request)
    if session is not None and session.user:
        return RedirectResponse(_next(request, request.query_params.get("next")), status_code=303)
    session = session or Session(None, new_csrf())
    response = console.render(request, "login.html", session=session, next=request.query_params.get("next", ""), message="")
    return console.with_session(response, request, session)


async def login(console: Console, request: Request) -> Response:
    session = console.session(request)
    refusal = await csrf_refusal(request, session)
    if refusal or session is None:
        return console.error_page(request, 403, refusal or "no session")
    form = await request.form()
    name = str(form.get("name") or "")[:MAX_FORM_FIELD]
    password = str(form.get("password") or "")[:MAX_FORM_FIELD]
    wanted = str(form.get("next") or "")[:MAX_FORM_FIELD]
    address = request.client.host if request.client else "unknown"
    user, wait = await run_in_threadpool(login_attempt, console, name, password, address)
    if user is None:
        status, message = (429, f"too many failed logins: try again in {int(wait) + 1} s") if wait else (401, "wrong user name or password")
        response = console.render(request, "login.html", status, session=session, next=wanted, message=message)
        if wait:
            response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    console.runtime.audit(None, "console-login", f"{user.name} logged in to the console", key=user.name, route=None, partner=None, detail={"user": user.name, "role": user.role})
    # A new token at login: a token seen before the login is worth nothing after it.
    redirect = RedirectResponse(_next(request, wanted), status_code=303)
    return console.with_session(redirect, request, Session(user.name, new_csrf()))


async def logout(console: Console, request: Request) -> Response:
    session = console.session(request)
    refusal = await csrf_refusal(request, session)
    if refusal:
        return console.error_page(request, 403, refusal)
    base = str(request.scope.get("root_path", "")).rstrip("/")
    response = RedirectResponse(f"{base}/login", status_code=303)
    response.delete_cookie(COOKIE, path=base + "/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


# -- overview -------------------------------------------------------------------------------


def _overview_data(console: Console) -> dict[str, Any]:
    runtime = console.runtime
    cutoff, hours = _overdue_cutoff(console)
    with runtime.store.reading() as tx:
        statuses = queries.route_statuses(tx.connection, runtime.project.routes)
        waiting = queries.attention(tx.connection, ATTENTION_STATES)
        overdue = queries.overdue_acks(tx.connection, older_than=cutoff)
        failures = queries.poll_failures(tx.connection, since=runtime.now() - timedelta(hours=24))
    partners_of = {name: [p.id for p in runtime.project.partners_for(name)] for name in runtime.project.routes}
    per_partner: dict[str, int] = {}
    for route, count in failures.items():
        for partner in partners_of.get(route, []) or ["(route " + route + ")"]:
            per_partner[partner] = per_partner.get(partner, 0) + count
    return {
        "statuses": statuses,
        "totals": queries.state_counts(statuses),
        "states": _states(console),
        "waiting": waiting,
        "overdue": overdue,
        "overdue_hours": hours,
        "failures": dict(sorted(per_partner.items())),
        "partners_of": partners_of,
    }



@page()
async def overview(console: Console, request: Request, user: User) -> Response:
    data = await run_in_threadpool(_overview_data, console)
    return console.render(request, "overview.html", user=user, **data)


# -- jobs -----------------------------------------------------------------------------------


def _job_list_data(console: Console, wanted: queries.JobFilter) -> queries.JobPage:
    runtime = console.runtime
    if wanted.q:
        with contextlib.suppress(StoreError):  # a search over what is indexed so far beats no answer
            catch_up(runtime.store, now=runtime.now())
    with runtime.store.reading() as tx:
        return queries.list_jobs(tx.connection, wanted)


@page()
async def job_list(console: Console, request: Request, user: User) -> Response:
    project = console.runtime.project
    wanted = queries.parse_filter(request.query_params, states=_states(console), routes=project.routes, partners=project.partners)
    found = await run_in_threadpool(_job_list_data, console, wanted)
    return console.render(
        request, "jobs.html", user=user, found=found, wanted=wanted, states=_states(console),
        routes=sorted(project.routes), partners=sorted(project.partners),
    )


def _pretty(content: bytes) -> str:
    text = content[:MAX_SHOWN_BYTES].decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _document_data(console: Console, job_id: int) -> dict[str, Any] | None:
    runtime = console.runtime
    with runtime.store.reading() as tx:
        try:
            job = tx.get(job_id)
        except StoreError:
            return None
        events, more_events = queries.events_of(tx.connection, job_id)
        listed = queries.artifact_rows(tx.connection, job_id)
        groups = queries.groups_of(tx.connection, job_id)
        received = queries.interchanges_of(tx.connection, job_id)
        ack_jobs = {group.ack_file: queries.jobs_named(tx.connection, group.ack_file) for group in groups if group.ack_file}
        shown: list[dict[str, Any]] = []
        for artifact in listed:
            if artifact.size > MAX_SHOWN_BYTES:
                shown.append({"artifact": artifact, "x12": None, "text": None, "too_big": True, "job_id": job_id})
                continue
            found = queries.artifact_content(tx.connection, job_id, artifact.id)
            content = found[1] if found else b""
            if looks_like_x12(content):
                shown.append({"artifact": artifact, "x12": annotate(content), "text": None, "too_big": False, "job_id": job_id})
            else:
                shown.append({"artifact": artifact, "x12": None, "text": _pretty(content), "too_big": False, "job_id": job_id})
    if job.kind == "transaction":
        shown.insert(0, _transaction_set(console, job))
    record = (job.payload or {}).get("record") if not any(a.role == "input" for a in listed) and job.kind != "transaction" else None
    acks_sent = [_ack_status(item) for item in shown if item["artifact"].role.startswith("ack.") and item["x12"] is not None]
    return {
        "job": job,
        "events": [_event(row) for row in events],
        "more_events": more_events,
        "shown": shown,
        "groups": groups,
        "ack_jobs": ack_jobs,
        "acks_sent": acks_sent,
        "received": received,
        "record": json.dumps(record, indent=2, ensure_ascii=False) if record is not None else None,
        "review": _review({"differences": _held_lines(console, job.id)}, job.result, job.payload) if job.state.value == "review" else None,
        "result": json.dumps(job.result, indent=2, ensure_ascii=False) if job.result else None,
    }


def _transaction_set(console: Console, job: Job) -> dict[str, Any]:
    """A transaction job's input: its set, read from its file job's stored file (the file is
    stored once, with the file job; the download is that file)."""
    payload = job.payload or {}
    file_job = int(payload.get("file_job") or 0)
    try:
        content = transaction_bytes(console.runtime.store, job)
        problem = None
    except (MlcError, KeyError, ValueError) as exc:
        content, problem = b"", f"the set cannot be read from file job {file_job}: {exc}"
    with console.runtime.store.reading() as tx:
        stored = next((a for a in queries.artifact_rows(tx.connection, file_job) if a.role == "input"), None) if file_job else None
    artifact = queries.ArtifactRow(
        stored.id if stored else 0, "input (set)", f"{payload.get('file', '?')} ST02 {payload.get('st02', '?')}",
        "application/edi-x12", len(content), "", stored.created_at if stored else job.created_at,
    )
    return {
        "artifact": artifact, "x12": annotate(content) if content else None, "text": problem or "", "too_big": False,
        "job_id": file_job if stored else None, "file_job": file_job,
    }


def _ack_status(item: dict[str, Any]) -> dict[str, Any]:
    """A 997 we sent for an inbound file: its name and what it said (AK901 per group, AK501 per set)."""
    said = [
        f"{segment.id} {segment.elements[0].value}" + (f" ({segment.elements[0].meaning})" if segment.elements[0].meaning else "")
        for segment in item["x12"].segments
        if segment.id in ("AK5", "AK9") and segment.elements
    ]
    return {"artifact": item["artifact"], "said": said}


def _event(row: Any) -> dict[str, Any]:
    detail = dict(row.detail or {})
    message = detail.pop("message", None)
    return {
        "at": row.at,
        "event": row.event,
        "status": row.status,
        "duration_ms": row.duration_ms,
        "message": message,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
        "failed": row.event in ("dead", "retry", "poll-failed", "rejected") or (row.status is not None and row.status >= 400),
    }


def _held_lines(console: Console, job_id: int) -> list[dict[str, Any]]:
    """The 855 lines held for review (`Store.acknowledgments`): ours next to the partner's."""
    rows: list[dict[str, Any]] = []
    for acknowledgment in console.runtime.store.acknowledgments(job_id, state="review"):
        for line in acknowledgment.held_lines:
            row: dict[str, Any] = {"document": acknowledgment.document, "line": line.line_number, "item": line.item, "status": f"{line.status} ({line.status_code})"}
            for name, (ours, theirs) in line.differences.items():
                row[name] = f"{ours} -> {theirs}"
            row["held"] = ", ".join(line.held)
            rows.append(row)
    return rows


def _review(*sources: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every list of objects in the job's stored result or payload, as tables: the per-line
    differences a review state keeps, whatever they are called."""
    tables = []
    for source in sources:
        for name, value in (source or {}).items():
            if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                columns: list[str] = []
                for item in value:
                    columns += [str(key) for key in item if str(key) not in columns]
                rows = [[json.dumps(item.get(c), ensure_ascii=False) if isinstance(item.get(c), dict | list) else item.get(c) for c in columns] for item in value[:500]]
                tables.append({"name": name, "columns": columns, "rows": rows})
    return tables


@page()
async def document(console: Console, request: Request, user: User) -> Response:
    job_id = _job_id(request)
    data = await run_in_threadpool(_document_data, console, job_id)
    if data is None:
        return console.error_page(request, 404, f"there is no job {job_id}")
    outcome = request.query_params.get("outcome")
    return console.render(request, "document.html", user=user, outcome=outcome[:300] if outcome else None, **data)


@page()
async def download(console: Console, request: Request, user: User) -> Response:
    job_id, artifact_id = _job_id(request), _job_id(request, "artifact_id")

    def read() -> tuple[queries.ArtifactRow, bytes] | None:
        with console.runtime.store.reading() as tx:
            return queries.artifact_content(tx.connection, job_id, artifact_id)

    found = await run_in_threadpool(read)
    if found is None:
        return console.error_page(request, 404, f"job {job_id} has no artifact {artifact_id}")
    artifact, content = found
    masked = console.mask(content.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape")
    safe_name = "".join(c if c.isalnum() or c in "._-#" else "_" for c in artifact.name)[:200] or "artifact"
    headers = {"Content-Disposition": f'attachment; filename="{safe_name}"', "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    return Response(masked, media_type="application/octet-stream", headers=headers)


# -- replay ---------------------------------------------------------------------------------


@page()
async def replay_preview(console: Console, request: Request, user: User) -> Response:
    from engine.runtime.replay import preview

    job_id = _job_id(request)
    try:
        shown = await run_in_threadpool(preview, console.runtime, job_id)
    except StoreError:
        return console.error_page(request, 404, f"there is no job {job_id}")
    except UsageError as exc:
        return console.error_page(request, 409, str(exc))
    return console.render(request, "replay.html", user=user, job=shown.job, diff=shown.diff, output=shown.output, error=shown.error)


def _replay(console: Console, job_id: int, user: User) -> str:
    from engine.runtime.replay import replay

    runtime = console.runtime
    job = runtime.store.get(job_id)
    if job.state is JobState.RUNNING:
        raise UsageError(f"job {job_id} is running (worker {job.claimed_by}); replay it once it has finished")
    runtime.audit(job, "console-replay", f"replay requested in the console by {user.name}", detail={"user": user.name, "role": user.role})
    outcome = replay(runtime, job_id)
    return f"{outcome.state.value}{': ' + outcome.detail if outcome.detail else ''}"


async def _act(console: Console, request: Request, job_id: int, action: Any) -> Response:
    try:
        outcome = await run_in_threadpool(action)
    except StoreError as exc:
        if "does not exist" in str(exc):
            return console.error_page(request, 404, f"there is no job {job_id}")
        raise
    except (UsageError, MlcError) as exc:
        return console.error_page(request, 409, str(exc))
    base = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(f"{base}/jobs/{job_id}?{urlencode({'outcome': console.mask(outcome)})}", status_code=303)


@page(action=True)
async def replay_now(console: Console, request: Request, user: User) -> Response:
    job_id = _job_id(request)
    return await _act(console, request, job_id, lambda: _replay(console, job_id, user))


def _reapply(console: Console, job_id: int, user: User) -> str:
    runtime = console.runtime
    assert console.reapply is not None
    job = runtime.store.get(job_id)
    runtime.audit(job, "console-reapply", f"re-apply requested in the console by {user.name}", detail={"user": user.name, "role": user.role})
    outcome = console.reapply(runtime, job_id)
    return f"{outcome.state.value}{': ' + outcome.detail if outcome.detail else ''}"


@page(action=True)
async def reapply_now(console: Console, request: Request, user: User) -> Response:
    job_id = _job_id(request)
    if console.reapply is None:
        return console.error_page(request, 501, "re-applying a reviewed 855 is not available in this build of the console")
    return await _act(console, request, job_id, lambda: _reapply(console, job_id, user))


# -- partners -------------------------------------------------------------------------------


def _overdue_cutoff(console: Console) -> tuple[datetime, float]:
    """The time before which an unacknowledged group is overdue, and the hours allowed."""
    hours = console.settings.ack_overdue_hours or console.runtime.settings.ack_overdue_hours
    return console.runtime.now() - timedelta(hours=hours), hours


def _partner_data(console: Console) -> list[dict[str, Any]]:
    project = console.runtime.project
    cutoff, _hours = _overdue_cutoff(console)
    routes_of: dict[str, list[str]] = {}
    for name in sorted(project.routes):
        for partner in project.partners_for(name):
            routes_of.setdefault(partner.id, []).append(name)
    with console.runtime.store.reading() as tx:
        counters = queries.counters(tx.connection)
        overdue = {o.partner: o for o in queries.overdue_acks(tx.connection, older_than=cutoff)}
        rows = []
        for partner_id in sorted(project.partners):
            partner = project.partners[partner_id]
            data = partner.data
            rows.append(
                {
                    "id": partner_id,
                    "name": data.get("name", partner_id),
                    "x12": data.get("x12") or {},
                    "cleo": {k: v for k, v in (data.get("cleo") or {}).items() if k != "connection"},
                    "connection": (data.get("cleo") or {}).get("connection"),
                    "transactions": data.get("transactions") or [],
                    "erp": data.get("erp") or {},
                    "routes": routes_of.get(partner_id, []),
                    "last": queries.last_exchange(tx.connection, partner_id),
                    "counters": counters.get(partner_id, {}),
                    "overdue": overdue.get(partner_id),
                }
            )
    return rows


@page()
async def partner_list(console: Console, request: Request, user: User) -> Response:
    rows = await run_in_threadpool(_partner_data, console)
    return console.render(request, "partners.html", user=user, partners=rows)
