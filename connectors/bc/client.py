"""The Business Central API v2.0 connector: a `RecordSystem` over one company.

    list_changed   GET  companies({cid})/{set}?$filter=lastModifiedDateTime gt ...&$expand=lines,
                   `Prefer: odata.maxpagesize=N`, `@odata.nextLink` followed verbatim
    get / find     GET  {set}({id}) or {set}?$filter=number eq '...'
    create         POST {set}?$expand=lines with the lines inside (deep insert) -> 201, lines in the answer
    update         PATCH {set}({id}) with If-Match; a stale ETag (409 Request_EntityChanged) is
                   re-read and the change re-applied once, then ConflictError
    delete/invoke  DELETE with If-Match; bound actions (POST .../Microsoft.NAV.post) -> 204

Every request goes through `HttpClient` (retries of 429/503/504 and dropped connections,
error translation, secret masking). A 401 makes the connector fetch a new token and try once
more. Requests that are not idempotent (POST: creates, actions) are retried only when the
server cannot have acted on them (429, 503, a connection that was never opened), so a create is
never doubled by a retry after a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from connectors.bc.auth import SYSTEM, BearerAuth, EntraTokenProvider
from connectors.bc.config import GUID, BcConfig
from connectors.bc.odata import (
    DOCUMENT_LINES,
    ENTITY_SETS,
    LINE_SETS,
    MASTER_SETS,
    odata_datetime,
    odata_literal,
    odata_string,
    query,
)
from connectors.bc.webhooks import Subscriptions
from connectors.common import HttpClient, RetryPolicy, excerpt
from engine.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProtocolError,
    UnauthorizedError,
)
from engine.ports import RequestPacer

__all__ = [
    "DOCUMENT_LINES",
    "ENTITY_SETS",
    "LINE_SETS",
    "MASTER_SETS",
    "BcConnector",
    "odata_datetime",
    "odata_literal",
    "odata_string",
    "query",
]

class BcConnector:
    """Business Central API v2.0 for one company (see the module docstring).

    `client_secret` is the resolved Entra client secret (never read from configuration);
    `transport` is shared by the token and API requests; `retry` decides backoff (inject
    `RetryPolicy(sleep=...)` in tests); `clock` drives the token cache; `pacer` paces the API
    requests under the connection's rate budget (Entra's token requests are another system's).
    """

    system = SYSTEM

    def __init__(
        self,
        config: BcConfig,
        client_secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        pacer: RequestPacer | None = None,
    ) -> None:
        self.config = config
        self.auth = EntraTokenProvider(
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=client_secret,
            scope=config.scope,
            transport=transport,
            timeout=config.timeout,
            skew=config.token_skew,
            clock=clock,
        )
        self._extra_secrets: list[str] = []
        self.http = HttpClient(
            SYSTEM,
            config.api_root,
            transport=transport,
            auth=BearerAuth(self.auth),
            timeout=config.timeout,
            retry=retry,
            headers={"Accept": "application/json"},
            secrets=self.secrets,
            pacer=pacer,
        )
        self.subscriptions = Subscriptions(self)

    def secrets(self) -> Iterable[str]:
        """Values masked in every error: client secret, live token, webhook client states."""
        return [*self.auth.secrets(), *self._extra_secrets]

    def add_secret(self, value: str) -> None:
        """Mask `value` in error messages from now on (e.g. a webhook clientState)."""
        if value and value not in self._extra_secrets:
            self._extra_secrets.append(value)

    def close(self) -> None:
        """Close both HTTP clients."""
        self.http.close()
        self.auth.close()

    def __enter__(self) -> BcConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- RecordSystem -------------------------------------------------------------------

    def list_changed(
        self, entity: str, since: datetime | None = None, *, expand: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Records of `entity` modified after `since` (all when None), oldest first, every page.

        `expand=None` expands a document's lines; pass `""` to expand nothing.
        """
        self._check_entity(entity, ENTITY_SETS)
        params = {
            "$filter": f"lastModifiedDateTime gt {odata_datetime(since)}" if since else "",
            "$orderby": "lastModifiedDateTime asc",
            "$expand": self._expand(entity, expand),
        }
        yield from self.iterate(f"{self.config.company_path}/{entity}?{query(params)}")

    def get(self, entity: str, key: str, *, expand: str | None = None) -> dict[str, Any]:
        """One record by its id (GUID) or, for any other key, by its `number`."""
        self._check_entity(entity, (*ENTITY_SETS, *LINE_SETS))
        if not GUID.match(key) and entity in LINE_SETS:
            raise ConfigError(f"bc: {entity} are addressed by their id (a GUID), got {key!r}")
        if not GUID.match(key):
            found = self.find(entity, key, expand=expand)
            if found is None:
                url = f"{self.config.api_root}{self.config.company_path}/{entity}"
                raise NotFoundError(
                    f"no {entity} record has number {key!r} (the filter matched nothing)",
                    system=SYSTEM,
                    status=404,
                    method="GET",
                    url=url,
                )
            return found
        params = {"$expand": self._expand(entity, expand)}
        response = self._request("GET", f"{self.config.company_path}/{entity}({key})?{query(params)}")
        return self._record(response)

    def find(self, entity: str, number: str, *, expand: str | None = None) -> dict[str, Any] | None:
        """The record of `entity` whose `number` is `number`, or None."""
        self._check_entity(entity, ENTITY_SETS)
        params = {"$filter": f"number eq {odata_string(number)}", "$expand": self._expand(entity, expand)}
        for record in self.iterate(f"{self.config.company_path}/{entity}?{query(params)}"):
            return record
        return None

    def find_by(self, entity: str, fields: Mapping[str, Any], *, expand: str | None = None) -> dict[str, Any] | None:
        """The first record of `entity` whose fields equal `fields` (`$filter=a eq 'x' and b eq 'y'`), or None."""
        self._check_entity(entity, ENTITY_SETS)
        conditions = " and ".join(f"{name} eq {odata_literal(value)}" for name, value in fields.items())
        params = {"$filter": conditions, "$expand": self._expand(entity, expand)}
        for record in self.iterate(f"{self.config.company_path}/{entity}?{query(params)}"):
            return record
        return None

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a record, a document with its lines in the same POST (deep insert).

        A document's POST asks `$expand=<lines>`, so the answer holds the lines BC created and
        no second request reads them; only an answer without them (a server ignoring the
        option) is followed by a GET."""
        self._check_entity(entity, ENTITY_SETS)
        lines = DOCUMENT_LINES.get(entity)
        url = f"{self.config.company_path}/{entity}" + (f"?{query({'$expand': lines})}" if lines else "")
        response = self._request("POST", url, json=payload, idempotent=False)
        record = self._record(response)
        if lines and lines not in record and isinstance(record.get("id"), str):
            record = self.get(entity, record["id"])
        return record

    def update(self, entity: str, key: str, changes: dict[str, Any], *, etag: str | None = None) -> dict[str, Any]:
        """PATCH `changes` with If-Match; after a stale ETag, re-read and re-apply once.

        Without `etag` the record is read first, so an update never bypasses concurrency
        control with `If-Match: *`.
        """
        self._check_entity(entity, (*ENTITY_SETS, *LINE_SETS))
        key, etag = self._resolve(entity, key, etag)
        path = f"{self.config.company_path}/{entity}({key})"
        try:
            return self._patch(path, changes, etag)
        except ConflictError:
            fresh = self.get(entity, key, expand="")
        try:
            return self._patch(path, changes, fresh.get("@odata.etag"))
        except ConflictError as again:
            raise ConflictError(
                f"{entity}({key}) was changed by someone else again while the update was re-applied "
                "after one re-read; not retrying further",
                system=SYSTEM,
                status=again.status,
                method=again.method,
                url=again.url,
                excerpt=again.excerpt,
                code=again.code,
            ) from again

    def delete(self, entity: str, key: str, *, etag: str | None = None) -> None:
        """DELETE a record with If-Match (its current ETag when none is given)."""
        self._check_entity(entity, (*ENTITY_SETS, *LINE_SETS))
        key, etag = self._resolve(entity, key, etag)
        self._request("DELETE", f"{self.config.company_path}/{entity}({key})", headers={"If-Match": etag or "*"})

    def invoke(self, entity: str, key: str, action: str) -> None:
        """Call a bound action, e.g. `invoke("salesInvoices", id, "post")` (204 expected)."""
        self._check_entity(entity, DOCUMENT_LINES)
        if not GUID.match(key):
            key = str(self.get(entity, key, expand="")["id"])
        name = action if action.startswith("Microsoft.NAV.") else f"Microsoft.NAV.{action}"
        self._request("POST", f"{self.config.company_path}/{entity}({key})/{name}", idempotent=False)

    def companies(self) -> list[dict[str, Any]]:
        """Every company of the environment (GET companies)."""
        return list(self.iterate("companies"))

    # -- paging and requests -----------------------------------------------------------

    def iterate(self, url: str) -> Iterator[dict[str, Any]]:
        """Every entity of a collection URL, following `@odata.nextLink` verbatim until absent."""
        headers = {"Prefer": f"odata.maxpagesize={self.config.page_size}"}
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            response = self._request("GET", next_url, headers=headers)
            body = self.json(response)
            value = body.get("value")
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise ProtocolError(
                    f"GET {response.request.url} -> HTTP {response.status_code}: expected a collection "
                    f"with a 'value' list of objects, got: {excerpt(response.text, self.secrets())}",
                    system=SYSTEM,
                )
            yield from value
            link = body.get("@odata.nextLink")
            if link is not None and (not isinstance(link, str) or link in seen):
                raise ProtocolError(
                    f"GET {response.request.url}: unusable or repeated @odata.nextLink {link!r}", system=SYSTEM
                )
            if link is not None:
                seen.add(link)
            next_url = link

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a successful answer; an error body under 2xx is a ProtocolError."""
        body = self.http.json(response)
        where = f"{response.request.method} {response.request.url} -> HTTP {response.status_code}"
        if not isinstance(body, dict):
            raise ProtocolError(
                f"{where}: expected a JSON object, got: {excerpt(response.text, self.secrets())}", system=SYSTEM
            )
        error = body.get("error")
        if error is not None:
            code, message = (error.get("code"), error.get("message")) if isinstance(error, dict) else (error, "")
            raise ProtocolError(
                f"{where} with an error body {code}: {message} ({excerpt(response.text, self.secrets())})",
                system=SYSTEM,
            )
        return body

    def _resolve(self, entity: str, key: str, etag: str | None) -> tuple[str, str | None]:
        """The record id for `key` and the ETag to send: the caller's, else the current one."""
        if etag is not None and GUID.match(key):
            return key, etag
        current = self.get(entity, key, expand="")
        return str(current["id"]), etag if etag is not None else current.get("@odata.etag")

    def _record(self, response: httpx.Response) -> dict[str, Any]:
        body = self.json(response)
        body.pop("@odata.context", None)
        return body

    def _patch(self, path: str, changes: dict[str, Any], etag: Any) -> dict[str, Any]:
        headers = {"If-Match": etag if isinstance(etag, str) and etag else "*"}
        return self._record(self._request("PATCH", path, json=changes, headers=headers))

    def request(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send one API request: retries, error translation, one token refresh after a 401."""
        return self._request(method, url, idempotent=idempotent, **kwargs)

    def _request(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        try:
            return self._send(method, url, idempotent, **kwargs)
        except UnauthorizedError as exc:
            if exc.status != 401 or exc.url == self.auth.token_url:
                raise  # 403, or Entra itself refused the credentials: a new token would not help
        self.auth.invalidate()
        try:
            return self._send(method, url, idempotent, **kwargs)
        except UnauthorizedError as again:
            if again.status != 401 or again.url == self.auth.token_url:
                raise
            raise UnauthorizedError(
                f"the token was refused again after one refresh; check that the Entra app "
                f"{self.config.client_id!r} is registered in Business Central with permissions "
                "for this company",
                system=SYSTEM,
                status=again.status,
                method=again.method,
                url=again.url,
                excerpt=again.excerpt,
                code=again.code,
            ) from again

    def _send(self, method: str, url: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, url, idempotent=idempotent, **kwargs)

    @staticmethod
    def _check_entity(entity: str, valid: Iterable[str]) -> None:
        options = list(valid)
        if entity not in options:
            raise ConfigError(f"bc: unknown entity set {entity!r}; valid entity sets: {', '.join(options)}")

    @staticmethod
    def _expand(entity: str, expand: str | None) -> str:
        if expand is None:
            return DOCUMENT_LINES.get(entity, "")
        return expand
