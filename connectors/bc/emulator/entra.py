"""The Microsoft Entra ID token endpoint emulator (client-credentials grant only).

    POST /{tenant}/oauth2/v2.0/token
         grant_type=client_credentials&client_id=...&client_secret=...&scope=<resource>/.default
         (client id and secret may come as HTTP Basic instead)
    200  {"token_type": "Bearer", "expires_in": N, "ext_expires_in": N, "access_token": "..."}
    400  {"error", "error_description": "AADSTSnnnn: ...", "error_codes", "timestamp",
          "trace_id", "correlation_id"}

Every error answer is 400 with the documented shape (real Entra answers 401 for a wrong
secret; the reference documents 400, and the connector accepts both). Issued tokens are
registered in the shared `BcEmulatorState`, where the BC emulator checks them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.bc.emulator.state import BcEmulatorState, shared_state
from connectors.common import FaultInjector


def _error(state: BcEmulatorState, error: str, code: int, description: str) -> JSONResponse:
    now = state.clock.now()
    trace, correlation = uuid.uuid4(), uuid.uuid4()
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": str(trace),
            "correlation_id": str(correlation),
        },
        status_code=400,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def build_entra(state: BcEmulatorState | None = None) -> Any:
    """The Entra token app over `state` (the shared plugin state when None), fault-injectable."""
    if state is None:
        state = shared_state()
    bound = state

    async def token(request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        raw = (await request.body()).decode("utf-8", "replace")
        if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
            return _error(
                bound, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        form = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        config = bound.config
        if tenant != config.tenant:
            return _error(
                bound,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud.",
            )
        grant = form.get("grant_type")
        if not grant:
            return _error(
                bound, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        if grant != "client_credentials":
            return _error(
                bound, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
            )
        client_id, client_secret = _credentials(request, form)
        if not client_id:
            return _error(
                bound, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        expected = config.clients.get(client_id)
        if expected is None:
            return _error(
                bound,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        if not hmac.compare_digest(client_secret.encode(), expected.encode()):
            return _error(
                bound,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scope = form.get("scope", "")
        if scope != config.scope:
            return _error(
                bound,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope or '(none)'} is not valid. Client credential flows must have "
                "a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        issued = bound.issue_token(client_id, tenant)
        lifetime = config.token_lifetime
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": issued.token},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    app = Starlette(routes=[Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"])])
    return FaultInjector(app, bound.entra_faults)
