"""The GP SBA emulator's HTTP surface (Starlette).

    /GPService/Tenants(DefaultTenant)/Companies                         GET   companies of the user
    /GPService/Tenants(DefaultTenant)/Companies(<name or db id>)        GET   one company
    /GPService/Tenants(DefaultTenant)/Companies(<c>)/<Module>/<Set>     GET   list ($filter, $orderby,
                                                                              $top, $skip); POST create
    /GPService/Tenants(DefaultTenant)/Companies(<c>)/<Module>/<Set>(<key>)  GET; PATCH

Entity sets and field names come from `connectors.gp.paths` (the one module of assumed SBA
shapes). Every /GPService request is authenticated first (see `windows_auth`), its body read
before any answer so the keep-alive connection stays usable for the NTLM handshake.

The company segment and keys are read from the *raw* (still percent-encoded) path, one
segment at a time, so names holding `/`, `,`, `(`, `)` or non-ASCII letters work.

Test API (no authentication; state changes for tests and the demo):

    POST  /_test/reset                                  back to the seed
    GET   /_test/stats                                  requests, 401s, NTLM handshakes
    POST  /_test/connections/forget                     drop every NTLM login (force re-auth)
    POST  /_test/companies                              {"CompanyId", "Name", "Grant"}: add an empty
                                                        company (Grant: mapped users get access)
    POST  /_test/fiscal-periods/<period>/close|reopen   ?company=TWO
    POST  /_test/records/<entity>                       add or replace a record (?company=TWO)
    PATCH /_test/records/<entity>/<key>                 change fields of a record (?company=TWO)

Both record calls stamp `ModifiedDate`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.gp import paths
from connectors.gp.emulator.company import (
    E_BAD_BODY,
    E_METHOD,
    E_NO_COMPANY_ACCESS,
    E_NOT_AUTHENTICATED,
    E_RECORD_NOT_FOUND,
    Company,
    GpFault,
)

if TYPE_CHECKING:
    from connectors.gp.emulator import GpEmulator

_SEGMENT_RE = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<key>.*)\))?$", re.DOTALL)
_BY_PATH = {spec.path.lower(): spec for spec in paths.ENTITIES.values()}
_JSON = "application/json; charset=utf-8"


def gp_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A GP error response (body shape from `paths.error_body`)."""
    return JSONResponse(paths.error_body(code, message), status_code=status, headers=headers, media_type=_JSON)


def create_app(emulator: GpEmulator) -> Starlette:
    """The Starlette app of one emulator instance (without the fault injector)."""
    stats = {"requests": 0, "unauthorized": 0}

    async def api(request: Request) -> Response:
        stats["requests"] += 1
        raw_body = await request.body()  # always read: the connection is reused for the handshake
        client = request.client
        connection = (client.host, client.port) if client else ("unknown", 0)
        outcome = emulator.auth.check(connection, request.headers.get("authorization"))
        if outcome.account is None:
            stats["unauthorized"] += 1
            response = gp_error(401, E_NOT_AUTHENTICATED, f"The request is not authenticated: {outcome.reason}.")
            for challenge in outcome.challenges:
                response.headers.append("WWW-Authenticate", challenge)
            return response
        user = emulator.auth.users[outcome.account.upper()]
        if not user.gp_user:
            stats["unauthorized"] += 1
            response = gp_error(
                401,
                E_NOT_AUTHENTICATED,
                f"The Windows account {user.account} is not mapped to a Microsoft Dynamics GP user.",
            )
            for challenge in emulator.auth.challenges():
                response.headers.append("WWW-Authenticate", challenge)
            return response
        try:
            segments = _segments(request)
            return _dispatch(emulator, request, segments, raw_body, user.gp_user, user.companies)
        except GpFault as fault:
            return gp_error(fault.status, fault.code, fault.message)

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"reset": True})

    async def show_stats(request: Request) -> Response:
        return JSONResponse({**stats, "handshakes": emulator.auth.handshakes})

    async def forget(request: Request) -> Response:
        emulator.auth.forget_connections()
        return JSONResponse({"forgotten": True})

    async def add_company(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("CompanyId") or not body.get("Name"):
            return gp_error(400, E_BAD_BODY, "Give CompanyId and Name.")
        emulator.add_company(str(body["CompanyId"]), str(body["Name"]), grant=bool(body.get("Grant", True)))
        return JSONResponse(emulator.state.find_company(str(body["CompanyId"])).info, status_code=201)

    async def period(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("close", "reopen"):
            return gp_error(404, E_RECORD_NOT_FOUND, f"Unknown action {action}; use close or reopen.")
        try:
            company = emulator.state.find_company(request.query_params.get("company", "TWO"))
            result = emulator.state.set_period_closed(company, request.path_params["period_id"], action == "close")
        except GpFault as fault:
            return gp_error(fault.status, fault.code, fault.message)
        return JSONResponse(result)

    async def put_record(request: Request) -> Response:
        return await _test_write(request, lambda company, entity, body: emulator.state.put(company, entity, body))

    async def modify_record(request: Request) -> Response:
        key = request.path_params["key"]
        return await _test_write(
            request, lambda company, entity, body: emulator.state.modify(company, entity, key, body)
        )

    async def _test_write(
        request: Request, write: Callable[[Company, str, dict[str, Any]], dict[str, Any]]
    ) -> Response:
        body = await _json(request)
        entity = request.path_params["entity"]
        if entity not in paths.ENTITIES:
            return gp_error(404, E_RECORD_NOT_FOUND, f"Unknown entity {entity}; valid: {sorted(paths.ENTITIES)}.")
        if not isinstance(body, dict):
            return gp_error(400, E_BAD_BODY, "The body must be a JSON object.")
        try:
            company = emulator.state.find_company(request.query_params.get("company", "TWO"))
            return JSONResponse(write(company, entity, body))
        except GpFault as fault:
            return gp_error(fault.status, fault.code, fault.message)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(
        routes=[
            Route("/_test/reset", reset, methods=["POST"]),
            Route("/_test/stats", show_stats, methods=["GET"]),
            Route("/_test/connections/forget", forget, methods=["POST"]),
            Route("/_test/companies", add_company, methods=["POST"]),
            Route("/_test/fiscal-periods/{period_id}/{action}", period, methods=["POST"]),
            Route("/_test/records/{entity}", put_record, methods=["POST"]),
            Route("/_test/records/{entity}/{key}", modify_record, methods=["PATCH"]),
            Route(f"{paths.SERVICE_ROOT}/{{rest:path}}", api, methods=methods),
            Route(paths.SERVICE_ROOT, api, methods=methods),
        ]
    )


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _segments(request: Request) -> list[tuple[str, str | None]]:
    """The (name, key) pairs of the path after /GPService, decoded one segment at a time."""
    scope = request.scope
    raw = scope.get("raw_path") or quote(scope["path"]).encode()
    text = raw.decode("latin-1").split("?", 1)[0]
    root = quote(scope.get("root_path", ""))
    if root and text.startswith(root):
        text = text[len(root) :]
    parts = [p for p in text.split("/") if p]
    if not parts or parts[0].lower() != paths.SERVICE_ROOT.strip("/").lower():
        raise GpFault(404, E_RECORD_NOT_FOUND, "Not a GP service path.")
    out: list[tuple[str, str | None]] = []
    for part in parts[1:]:
        try:
            match = _SEGMENT_RE.match(unquote(part, encoding="utf-8", errors="strict"))
        except UnicodeDecodeError:
            match = None
        if not match:
            raise GpFault(404, E_RECORD_NOT_FOUND, f"The path segment '{part}' is not valid.")
        out.append((match.group("name"), match.group("key")))
    return out


def _dispatch(
    emulator: GpEmulator,
    request: Request,
    segments: list[tuple[str, str | None]],
    raw_body: bytes,
    gp_user: str,
    companies: tuple[str, ...],
) -> Response:
    method = request.method
    if not segments or segments[0][0].lower() != "tenants" or segments[0][1] != paths.DEFAULT_TENANT:
        raise GpFault(404, E_RECORD_NOT_FOUND, "The tenant does not exist.")
    rest = segments[1:]
    state = emulator.state
    allowed = {c.upper() for c in companies}
    if not rest or rest[0][0] == "help":
        _only(method, "GET")
        return JSONResponse({"Resources": sorted(spec.path for spec in paths.ENTITIES.values())})
    if rest[0][0] != "Companies":
        raise GpFault(404, E_RECORD_NOT_FOUND, f"The resource '{rest[0][0]}' does not exist.")
    if rest[0][1] is None and len(rest) == 1:
        _only(method, "GET")
        visible = [c.info for c in state.companies.values() if c.company_id.upper() in allowed]
        return JSONResponse({paths.LIST_ITEMS_KEY: visible})
    company = state.find_company(rest[0][1] or "")
    _check_access(company, allowed, gp_user)
    if len(rest) == 1:
        _only(method, "GET")
        return JSONResponse(company.info)
    if len(rest) != 3 or rest[1][1] is not None:
        raise GpFault(404, E_RECORD_NOT_FOUND, "The resource does not exist.")
    spec = _BY_PATH.get(f"{rest[1][0]}/{rest[2][0]}".lower())
    if spec is None:
        raise GpFault(404, E_RECORD_NOT_FOUND, f"The resource '{rest[1][0]}/{rest[2][0]}' does not exist.")
    key = rest[2][1]
    if key is None:
        if method == "GET":
            records = state.list(company, spec.name, dict(request.query_params))
            return JSONResponse({paths.LIST_ITEMS_KEY: records}, media_type=_JSON)
        if method == "POST":
            created = state.create(company, spec.name, _parse(raw_body))
            return JSONResponse(created, status_code=201, media_type=_JSON)
        raise GpFault(405, E_METHOD, f"{method} is not allowed on {spec.path}.")
    if method == "GET":
        return JSONResponse(state.get(company, spec.name, key), media_type=_JSON)
    if method == "PATCH":
        return JSONResponse(state.update(company, spec.name, key, _parse(raw_body)), media_type=_JSON)
    raise GpFault(405, E_METHOD, f"{method} is not allowed on {spec.path}({key}).")


def _check_access(company: Company, allowed: set[str], gp_user: str) -> None:
    if company.company_id.upper() not in allowed:
        raise GpFault(
            403, E_NO_COMPANY_ACCESS, f"The user {gp_user} does not have access to the company {company.name}."
        )


def _only(method: str, expected: str) -> None:
    if method != expected:
        raise GpFault(405, E_METHOD, f"{method} is not allowed here; use {expected}.")


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GpFault(400, E_BAD_BODY, f"The request body is not valid JSON ({exc}).") from None
