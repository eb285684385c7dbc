"""The Dynamics GP connector: GP SBA seen as a `RecordSystem` (engine.ports).

Entities (see `paths.ENTITIES`): `vendors`, `items`, `purchaseOrders` (lines inline),
`purchaseReceipts` (receipts of shipments against purchase orders) and `fiscalPeriods`.

Safety rules enforced here, before anything is sent:

- only **Work** (unposted) documents are written: creating a document in any other
  `TransactionState` (History, Posted, Open) is refused; an update first reads the document
  and refuses unless it is in Work; changing `TransactionState` itself is refused.
- read-only entities (items, fiscal periods) are never written.

What GP itself refuses (a closed fiscal period, a receipt against a History PO) comes back as
HTTP 400 with GP's error body and is raised as `RemoteValidationError` carrying GP's message.
Every HTTP exchange goes through `connectors.common.HttpClient` (retries on 429/5xx, error
translation, secrets masked): the password never appears in an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from connectors.common import HttpClient, RetryPolicy, mask
from connectors.common.client import default_error_decoder
from connectors.gp import paths
from connectors.gp.auth import NtlmAuth, basic_auth
from connectors.gp.config import GpConfig
from engine.errors import (
    ConfigError,
    ProtocolError,
    RefusedOperationError,
    SecretError,
    UnauthorizedError,
)
from engine.ports import RequestPacer

SYSTEM = "gp"

SecretResolver = Callable[[str], str]
"""Returns the value of a named secret (the engine's encrypted secret store)."""


def decode_error(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) of a GP error response; GP's own message when the body is GP's shape."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None, response.reason_phrase or "error"
    parsed = paths.read_error_body(body)
    return parsed if parsed is not None else default_error_decoder(response)


class GpClient:
    """A GP company reached through SBA, as a `RecordSystem`.

    `password` comes from the caller (the secret store), never from configuration; the
    transport is injectable (emulator, `httpx.MockTransport`, the real server).
    """

    def __init__(
        self,
        config: GpConfig,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        pacer: RequestPacer | None = None,
    ) -> None:
        self.config = config
        self._password = password
        if config.auth == "basic":
            self.auth: httpx.Auth = basic_auth(config.domain, config.username, password)
        else:
            self.auth = NtlmAuth(config.domain, config.username, password)
        if transport is None and not config.verify_tls:
            transport = httpx.HTTPTransport(verify=False)
        self.http = HttpClient(
            SYSTEM,
            config.company_url + "/",
            transport=transport,
            auth=self.auth,
            timeout=config.timeout,
            retry=retry,
            headers={"Accept": "application/json"},
            error_decoder=decode_error,
            secrets=lambda: (self._password,),
            pacer=pacer,
        )

    def __repr__(self) -> str:
        return f"GpClient(company={self.config.company!r}, account={self.config.account!r}, auth={self.config.auth})"

    def close(self) -> None:
        """Close the connections (and with them their NTLM authentication)."""
        self.http.close()

    def __enter__(self) -> GpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- RecordSystem -------------------------------------------------------------------------

    def list_changed(
        self, entity: str, since: datetime | None = None, *, expand: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Records of `entity` with `ModifiedDate` after `since` (all when None), oldest first.

        Pages with `$top`/`$skip` of `page_size`; document lines are always inline.
        """
        spec = self._entity(entity)
        _check_expand(expand)
        size = self.config.page_size
        skip = 0
        previous_first: Any = None
        while True:
            params: dict[str, str | int] = {paths.ORDERBY_PARAM: paths.ORDER_BY_MODIFIED, paths.TOP_PARAM: size}
            if since is not None:
                params[paths.FILTER_PARAM] = paths.modified_since_filter(since)
            if skip:
                params[paths.SKIP_PARAM] = skip
            response = self._request("GET", spec.path + paths.query_string(params))
            page = self._page(response)
            if page and skip and page[0].get(spec.key) == previous_first:
                raise ProtocolError(
                    f"GET {response.request.url} returned the same page again: the server ignores "
                    f"{paths.SKIP_PARAM}; cannot page {entity}",
                    system=SYSTEM,
                )
            yield from page
            if len(page) < size or len(page) > size:
                return  # a short page ends the list; a long one means the server does not page
            previous_first = page[0].get(spec.key)
            skip += size

    def get(self, entity: str, key: str, *, expand: str | None = None) -> dict[str, Any]:
        """One record by its key (for documents: with its lines)."""
        spec = self._entity(entity)
        _check_expand(expand)
        return self._record(self._request("GET", paths.record_path(spec, key)), spec)

    def find_by(self, entity: str, fields: Mapping[str, Any], *, expand: str | None = None) -> dict[str, Any] | None:
        """The first record of `entity` whose fields equal `fields`, or None.

        SBA is not known to filter on arbitrary fields [U], so the list is read and compared
        here (every page); fine for the receipts and vendors of one company.
        """
        for record in self.list_changed(entity, None, expand=expand):
            if all(record.get(name) == value for name, value in fields.items()):
                return record
        return None

    def create(self, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a record (documents in Work, lines inline) and return it as GP stored it."""
        spec = self._writable(entity, "create")
        body = dict(payload)
        if spec.stateful:
            state = body.get(paths.TRANSACTION_STATE_FIELD)
            if state is not None and state not in paths.WRITABLE_STATES:
                raise RefusedOperationError(
                    f"refusing to create {spec.label} {_name(body.get(spec.key))}in state {state!r}: only "
                    f"{paths.WORK_STATE} (unposted) documents are written to GP; nothing was sent",
                    system=SYSTEM,
                )
            body[paths.TRANSACTION_STATE_FIELD] = paths.WORK_STATE
        # Not resent after a timeout or a 5xx: GP may have written it (the caller looks first).
        return self._record(self._request("POST", spec.path, json=body, idempotent=False), spec)

    def update(self, entity: str, key: str, changes: dict[str, Any], *, etag: str | None = None) -> dict[str, Any]:
        """Change a record; documents are read first and changed only while in Work.

        `etag` is accepted for the protocol and ignored: SBA has no concurrency token [U].
        """
        spec = self._writable(entity, "update")
        path = paths.record_path(spec, key)
        if spec.stateful:
            target = changes.get(paths.TRANSACTION_STATE_FIELD)
            if target is not None and target not in paths.WRITABLE_STATES:
                raise RefusedOperationError(
                    f"refusing to move {spec.label} {key!r} to state {target!r}: posting is not done through "
                    f"this connector, only {paths.WORK_STATE} documents are written; nothing was sent",
                    system=SYSTEM,
                )
            current = self._record(self._request("GET", path), spec)
            state = current.get(paths.TRANSACTION_STATE_FIELD)
            if state not in paths.WRITABLE_STATES:
                raise RefusedOperationError(
                    f"refusing to change {spec.label} {key!r}: it is in state {state!r} and only "
                    f"{paths.WORK_STATE} (unposted) documents may be changed; nothing was written",
                    system=SYSTEM,
                )
        response = self._request("PATCH", path, json=changes)
        if response.status_code == 204 or not response.content.strip():
            return self.get(entity, key)
        return self._record(response, spec)

    # --- other --------------------------------------------------------------------------------

    def company(self) -> dict[str, Any]:
        """The configured company as GP describes it (a cheap connection check)."""
        response = self._request("GET", self.config.company_url)
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise ProtocolError(
                f"GET {response.request.url}: expected a company object, got {_kind(body)}", system=SYSTEM
            )
        return body

    # --- internals ----------------------------------------------------------------------------

    def _entity(self, name: str) -> paths.Entity:
        try:
            return paths.ENTITIES[name]
        except KeyError:
            raise ConfigError(
                f"gp: unknown entity {name!r}; valid entities: {', '.join(sorted(paths.ENTITIES))}"
            ) from None

    def _writable(self, name: str, operation: str) -> paths.Entity:
        spec = self._entity(name)
        if not spec.writable:
            writable = ", ".join(sorted(n for n, e in paths.ENTITIES.items() if e.writable))
            raise RefusedOperationError(
                f"refusing to {operation} {name}: read-only through this connector (writable: {writable}); "
                "nothing was sent",
                system=SYSTEM,
            )
        return spec

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except UnauthorizedError as exc:
            hint = (
                f"the credentials of {self.config.account} ({self.config.auth}) were refused; check the secret "
                f"{self.config.password_secret!r} and that the Windows account is mapped to a GP user with "
                f"access to company {self.config.company!r}"
            )
            raise UnauthorizedError(
                f"{_server_message(exc).rstrip('.')}; {hint}",
                system=SYSTEM,
                status=exc.status,
                method=exc.method,
                url=exc.url,
                excerpt=exc.excerpt,
                code=exc.code,
            ) from exc

    def _record(self, response: httpx.Response, spec: paths.Entity) -> dict[str, Any]:
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise ProtocolError(
                f"{response.request.method} {response.request.url} -> HTTP {response.status_code}: expected a "
                f"{spec.label} object, got {_kind(body)}",
                system=SYSTEM,
            )
        if spec.key not in body:
            raise ProtocolError(
                f"{response.request.method} {response.request.url} -> HTTP {response.status_code}: "
                f"{mask(_error_or_missing(body, spec.key), self.http.secrets())}",
                system=SYSTEM,
            )
        return body

    def _page(self, response: httpx.Response) -> list[dict[str, Any]]:
        body = self.http.json(response)
        items = body.get(paths.LIST_ITEMS_KEY) if isinstance(body, dict) else body
        if not isinstance(items, list):
            detail = _error_or_missing(body, paths.LIST_ITEMS_KEY) if isinstance(body, dict) else f"got {_kind(body)}"
            raise ProtocolError(
                f"GET {response.request.url} -> HTTP {response.status_code}: expected a list: {detail}",
                system=SYSTEM,
            )
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ProtocolError(
                    f"GET {response.request.url}: list entry {index} is {_kind(item)}, expected an object",
                    system=SYSTEM,
                )
        return items


def connect(
    config: Mapping[str, Any],
    secrets: SecretResolver,
    transport: httpx.BaseTransport | None = None,
    *,
    retry: RetryPolicy | None = None,
    pacer: RequestPacer | None = None,
) -> GpClient:
    """A `GpClient` for a `connections.yaml` entry; the password resolved through `secrets`;
    `pacer` paces its requests under the connection's rate budget (the runtime's)."""
    cfg = GpConfig.from_mapping(config)
    try:
        password = secrets(cfg.password_secret)
    except (KeyError, LookupError) as exc:
        raise SecretError(f"gp: the secret {cfg.password_secret!r} is not in the secret store") from exc
    if not isinstance(password, str) or not password:
        raise SecretError(f"gp: the secret {cfg.password_secret!r} is empty")
    return GpClient(cfg, password, transport=transport, retry=retry, pacer=pacer)


def _check_expand(expand: str | None) -> None:
    if expand not in (None, "", paths.LINES_KEY, paths.LINES_KEY.lower()):
        raise ConfigError(
            f"gp: expand {expand!r} is not supported; GP documents carry their {paths.LINES_KEY} inline "
            f"(valid: none or {paths.LINES_KEY!r})"
        )


def _error_or_missing(body: dict[str, Any], field: str) -> str:
    error = paths.read_error_body(body)
    if error is not None:
        code, message = error
        return f"answered success with an error body ({code}: {message})"
    return f"the field {field!r} is missing (fields: {', '.join(sorted(map(str, body))[:12])})"


def _server_message(exc: UnauthorizedError) -> str:
    # HttpStatusError's message is "gp: METHOD url -> HTTP 401[ code]: message"; keep the message.
    tail = exc.message.partition(" -> HTTP ")[2]
    return tail.partition(": ")[2] or exc.message


def _name(key: Any) -> str:
    return f"{key!r} " if key else ""


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
