"""The Business Central API v2.0 emulator (a Starlette app over `BcEmulatorState`).

    /v2.0/{tenant}/{environment}/api/v2.0/
      companies, companies({cid})                                   GET
      companies({cid})/{set}                                        GET (OData query), POST (deep insert)
      companies({cid})/{set}({id})                                  GET, PATCH (If-Match), DELETE
      companies({cid})/{set}({id})/{lines}[({lineId})]              GET, POST / GET, PATCH, DELETE
      companies({cid})/{lines}[({lineId})]                          GET ($filter=documentId eq ... required) /
                                                                    GET, PATCH, DELETE
      companies({cid})/salesInvoices({id})/Microsoft.NAV.post       POST -> 204
      subscriptions, subscriptions('{id}')                          GET, POST / GET, PATCH, DELETE

Every request needs a Bearer token issued by the Entra emulator (401
Authentication_InvalidCredentials otherwise). Collections page server-side: `Prefer:
odata.maxpagesize=N` (capped by `max_page_size`) yields an absolute `@odata.nextLink` with an
opaque `$skiptoken`; `$top` disables paging, as in BC. Errors use BC's body shape.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.bc.emulator import documents, odata
from connectors.bc.emulator.odata import ODataError, bad_request
from connectors.bc.emulator.schema import LINE_SETS, EntitySet
from connectors.bc.emulator.state import BcEmulatorState, shared_state
from connectors.common import FaultInjector

MEDIA_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][\w.]*)(?:\((?P<key>[^)]*)\))?$")
_METHODS = ["GET", "POST", "PATCH", "DELETE"]
_UNAUTHORIZED_HEADERS = {
    "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'error="invalid_token"'
}


def _respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = b"" if data is None else json.dumps(data).encode()
    return Response(content, status_code=status, headers=headers, media_type=None if data is None else MEDIA_TYPE)


def _error(exc: ODataError) -> Response:
    return _respond(exc.body(), exc.status, exc.headers)


def _segments(rest: str) -> list[tuple[str, str | None]]:
    parsed: list[tuple[str, str | None]] = []
    for raw in filter(None, rest.split("/")):
        match = _SEGMENT.match(raw)
        if match is None:
            raise ODataError(404, "BadRequest_NotFound", f"The request URL segment '{raw}' is not valid.")
        key = match["key"]
        if key is not None:
            key = key.strip()
            if key.startswith("'") and key.endswith("'"):
                key = key[1:-1]
        parsed.append((match["name"], key))
    return parsed


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("The request body is empty; a JSON object is expected.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from None


def _not_allowed(method: str, what: str) -> ODataError:
    return ODataError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not allowed on {what}.")


class _Api:
    """Request handling bound to one state."""

    def __init__(self, state: BcEmulatorState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        try:
            return await self._dispatch(request)
        except ODataError as exc:
            return _error(exc)

    def _authenticate(self, request: Request, tenant: str) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not self.state.token_valid(header[7:].strip(), tenant):
            raise ODataError(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials.",
                _UNAUTHORIZED_HEADERS,
            )

    async def _dispatch(self, request: Request) -> Response:
        params = request.path_params
        self._authenticate(request, params["tenant"])
        if params["environment"] != self.state.config.environment:
            raise ODataError(404, "BadRequest_NotFound", f"The environment '{params['environment']}' does not exist.")
        segments = _segments(params.get("rest", ""))
        root = str(request.url).split("?")[0]
        root = root[: root.index("/api/v2.0") + len("/api/v2.0/")]
        if not segments:
            raise ODataError(404, "BadRequest_NotFound", "No resource at the API root; try companies.")
        name, key = segments[0]
        if name == "subscriptions" and len(segments) == 1:
            return await self._subscriptions(request, key, root)
        if name != "companies":
            raise ODataError(404, "BadRequest_NotFound", f"The resource '{name}' does not exist in API v2.0.")
        company = self.state.company
        if key is None:
            if len(segments) > 1 or request.method != "GET":
                raise _not_allowed(request.method, "companies")
            return _respond({"@odata.context": f"{root}$metadata#companies", "value": [self._select(request, company)]})
        if key.lower() != company["id"]:
            raise ODataError(404, "Internal_CompanyNotFound", f"The company '{key}' does not exist.")
        context = f"{root}$metadata#companies({company['id']})"
        if len(segments) == 1:
            return _respond({"@odata.context": f"{root}$metadata#companies/$entity", **company})
        body = await _body(request) if request.method in ("POST", "PATCH") and not _is_action(segments) else None
        with self.state.lock:
            return self._company(request, segments[1:], body, context)

    def _company(self, request: Request, segments: list[tuple[str, str | None]], body: Any, context: str) -> Response:
        method = request.method
        name, key = segments[0]
        if name in LINE_SETS:
            es = LINE_SETS[name]
            if len(segments) > 1:
                raise ODataError(404, "BadRequest_NotFound", f"Nothing under {name}.")
            return self._line(request, es, None, key, body, f"{context}/{name}")
        es = self.state.entity_set(name)
        if len(segments) == 1 and key is None:
            if method == "GET":
                records = list(self.state.sets[es.name].values())
                return self._collection(request, records, es, f"{context}/{name}")
            if method == "POST":
                # As BC does: the created header only, its lines when the POST asks `$expand`.
                expand = self._expand(request, es)
                record = self.state.create(es.name, body)
                view = documents.public(es, record, expand=expand)
                location = f"{str(request.url).split('?')[0]}({record['id']})"
                headers = {"ETag": view["@odata.etag"], "Location": location}
                return _respond({"@odata.context": f"{context}/{name}/$entity", **view}, 201, headers)
            raise _not_allowed(method, name)
        assert key is not None or len(segments) > 1
        if key is None:
            raise ODataError(404, "BadRequest_NotFound", f"'{name}' needs a key before '{segments[1][0]}'.")
        if len(segments) == 1:
            return self._entity(request, es, key, body, f"{context}/{name}")
        sub, sub_key = segments[1]
        if sub.startswith("Microsoft.NAV."):
            if method != "POST":
                raise _not_allowed(method, sub)
            if es.name != "salesInvoices" or sub != "Microsoft.NAV.post":
                raise bad_request(f"The bound action '{sub}' on {name} is not supported by the emulator.")
            self.state.post(key)
            return _respond(None, 204)
        if sub != es.lines or len(segments) > 2:
            raise ODataError(404, "BadRequest_NotFound", f"'{sub}' is not a navigation property of {es.type_name}.")
        doc = self.state.require(es, key)
        if sub_key is None:
            if method == "GET":
                return self._collection(
                    request, list(doc[es.lines]), es, f"{context}/{name}({doc['id']})/{sub}", lines=True
                )
            if method == "POST":
                line = self.state.add_line(es.name, key, body)
                view = documents.public_line(es, line)
                return _respond(
                    {"@odata.context": f"{context}/{sub}/$entity", **view}, 201, {"ETag": view["@odata.etag"]}
                )
            raise _not_allowed(method, sub)
        if all(line["id"] != sub_key.lower() for line in doc[es.lines]):
            raise ODataError(404, "Internal_RecordNotFound", f"The {es.line_type_name} '{sub_key}' does not exist.")
        return self._line(request, es, doc, sub_key, body, f"{context}/{sub}")

    def _entity(self, request: Request, es: EntitySet, key: str, body: Any, context: str) -> Response:
        method = request.method
        if method == "GET":
            record = self.state.require(es, key)
            expand = self._expand(request, es)
            view = self._select(request, documents.public(es, record, expand=expand))
            return _respond({"@odata.context": f"{context}/$entity", **view}, headers={"ETag": view["@odata.etag"]})
        if method == "PATCH":
            record = self.state.patch(es.name, key, body, request.headers.get("If-Match"))
            view = documents.public(es, record)
            return _respond({"@odata.context": f"{context}/$entity", **view}, headers={"ETag": view["@odata.etag"]})
        if method == "DELETE":
            self.state.delete(es.name, key, request.headers.get("If-Match"))
            return _respond(None, 204)
        raise _not_allowed(method, es.name)

    def _line(
        self, request: Request, es: EntitySet, doc: dict[str, Any] | None, key: str | None, body: Any, context: str
    ) -> Response:
        assert es.lines is not None
        method = request.method
        if key is None:
            if method != "GET":
                raise _not_allowed(method, es.lines)
            # BC's line pages refuse to list every line of every document (OnFindRecord:
            # "You must specify a document id to get the lines."); a documentId filter is needed.
            conditions = odata.parse_filter(request.query_params.get("$filter", ""), es.line_fields or {}, es.lines)
            wanted = {c.value for c in conditions if c.field == "documentId" and c.op == "eq"}
            if not wanted:
                raise bad_request("You must specify a document id to get the lines.", "Application_DialogException")
            lines = [line for d in self.state.sets[es.name].values() if d["id"] in wanted for line in d[es.lines]]
            return self._collection(request, lines, es, context, lines=True)
        if method == "GET":
            _es, _doc, line = self.state.find_line(es.lines, key)
            view = documents.public_line(es, line)
            return _respond({"@odata.context": f"{context}/$entity", **view}, headers={"ETag": view["@odata.etag"]})
        if method == "PATCH":
            line = self.state.patch_line(es.lines, key, body, request.headers.get("If-Match"))
            view = documents.public_line(es, line)
            return _respond({"@odata.context": f"{context}/$entity", **view}, headers={"ETag": view["@odata.etag"]})
        if method == "DELETE":
            self.state.delete_line(es.lines, key, request.headers.get("If-Match"))
            return _respond(None, 204)
        raise _not_allowed(method, es.lines)

    # -- query options --------------------------------------------------------------------------

    @staticmethod
    def _expand(request: Request, es: EntitySet, *, lines: bool = False) -> bool:
        raw = request.query_params.get("$expand", "").strip()
        if not raw:
            return False
        wanted = [part.strip() for part in raw.split(",") if part.strip()]
        if lines or any(part != es.lines for part in wanted):
            raise bad_request(
                f"$expand={raw!r} is not supported by the emulator for this resource; "
                f"it expands {es.lines or 'nothing'} only."
            )
        return True

    @staticmethod
    def _select(request: Request, view: dict[str, Any]) -> dict[str, Any]:
        raw = request.query_params.get("$select", "").strip()
        if not raw:
            return view
        wanted = {part.strip() for part in raw.split(",")}
        unknown = wanted - set(view)
        if unknown:
            raise bad_request(f"Could not find a property named '{sorted(unknown)[0]}' to $select.")
        return {k: v for k, v in view.items() if k in wanted or k == "@odata.etag" or isinstance(v, list)}

    def _collection(
        self, request: Request, records: list[dict[str, Any]], es: EntitySet, context: str, *, lines: bool = False
    ) -> Response:
        query = request.query_params
        fields = es.line_fields if lines else es.fields
        type_name = (es.line_type_name if lines else es.type_name) or es.type_name
        assert fields is not None
        render: Callable[[dict[str, Any], bool], dict[str, Any]] = (
            (lambda record, _expand: documents.public_line(es, record))
            if lines
            else (lambda record, expand: documents.public(es, record, expand=expand))
        )
        expand = self._expand(request, es, lines=lines)
        conditions = odata.parse_filter(query.get("$filter", ""), fields, type_name)
        views = [(record, render(record, False)) for record in records]
        views = [(record, view) for record, view in views if all(c.matches(view) for c in conditions)]
        default = [("sequence", False)] if lines else [("number", False)]
        order = odata.parse_orderby(query.get("$orderby", ""), fields, type_name) or default
        keyed = [(odata.sort_key(view, order), record, view) for record, view in views]

        def compare(a: tuple[list[Any], Any, Any], b: tuple[list[Any], Any, Any]) -> int:
            return odata.compare_keys(a[0], b[0], order)

        keyed.sort(key=functools.cmp_to_key(compare))
        views = [(record, view) for _key, record, view in keyed]
        skip, top = _count(query.get("$skip"), "$skip"), _count(query.get("$top"), "$top")
        next_link = None
        preferred = odata.parse_prefer_page_size(request.headers.get("Prefer"))
        headers: dict[str, str] = {}
        if top is not None:
            page = views[skip or 0 : (skip or 0) + top]
        else:
            size = min(preferred or self.state.config.max_page_size, self.state.config.max_page_size)
            token = query.get("$skiptoken")
            if token:
                after, size = odata.decode_skiptoken(token)
                views = [v for v in views if odata.compare_keys(odata.sort_key(v[1], order), after, order) > 0]
            else:
                views = views[skip or 0 :]
            page = views[:size]
            if len(views) > size:
                next_link = _next_link(request, odata.encode_skiptoken(odata.sort_key(page[-1][1], order), size))
            if preferred:
                headers["Preference-Applied"] = f"odata.maxpagesize={size}"
        value = [self._select(request, render(record, expand) if expand else view) for record, view in page]
        data: dict[str, Any] = {"@odata.context": context, "value": value}
        if next_link:
            data["@odata.nextLink"] = next_link
        return _respond(data, headers=headers)

    # -- subscriptions --------------------------------------------------------------------------

    async def _subscriptions(self, request: Request, key: str | None, root: str) -> Response:
        notifier = self.state.notifier
        method = request.method
        context = f"{root}$metadata#subscriptions"
        if key is None:
            if method == "GET":
                with self.state.lock:
                    notifier.purge_expired()
                    value = [s.public() for s in notifier.subscriptions.values()]
                return _respond({"@odata.context": context, "value": value})
            if method != "POST":
                raise _not_allowed(method, "subscriptions")
            url, resource, entity, client_state = notifier.validate_request(await _body(request))
            problem = await run_in_threadpool(notifier.handshake, url)
            if problem:
                raise bad_request(f"The subscription could not be validated: {problem}.")
            subscription = notifier.add(url, resource, entity, client_state)
            view = subscription.public()
            headers = {"ETag": view["@odata.etag"], "Location": f"{root}subscriptions('{subscription.id}')"}
            return _respond({"@odata.context": f"{context}/$entity", **view}, 201, headers)
        subscription = notifier.require(key)
        if method == "GET":
            return _respond({"@odata.context": f"{context}/$entity", **subscription.public()})
        notifier.check_etag(subscription, request.headers.get("If-Match"))
        if method == "DELETE":
            notifier.remove(subscription.id)
            return _respond(None, 204)
        if method != "PATCH":
            raise _not_allowed(method, "subscriptions")
        url, _resource, _entity, client_state = notifier.validate_request(await _body(request), existing=subscription)
        problem = await run_in_threadpool(notifier.handshake, url)
        if problem:
            raise bad_request(f"The subscription could not be validated: {problem}.")
        view = notifier.renew(subscription, url, client_state).public()
        return _respond({"@odata.context": f"{context}/$entity", **view}, headers={"ETag": view["@odata.etag"]})


def _is_action(segments: list[tuple[str, str | None]]) -> bool:
    return segments[-1][0].startswith("Microsoft.NAV.")


def _count(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise bad_request(f"Invalid value {value!r} for {name}: a non-negative integer is expected.")
    return int(value)


def _next_link(request: Request, token: str) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("$skiptoken", "$skip")]
    pairs.append(("$skiptoken", token))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=odata.QUERY_SAFE)}" for k, v in pairs)
    return str(request.url.replace(query=query))


def build_bc(state: BcEmulatorState | None = None) -> Any:
    """The BC API app over `state` (the shared plugin state when None), fault-injectable."""
    if state is None:
        state = shared_state()
    api = _Api(state)
    prefix = "/v2.0/{tenant}/{environment}/api/v2.0"
    app = Starlette(
        routes=[
            Route(prefix, api.handle, methods=_METHODS),
            Route(prefix + "/{rest:path}", api.handle, methods=_METHODS),
        ]
    )
    return FaultInjector(app, state.bc_faults)
