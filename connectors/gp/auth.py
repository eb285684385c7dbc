"""Windows-account authentication for GP SBA: NTLM (default) or Basic `DOMAIN\\user`.

`NtlmAuth` is an `httpx.Auth` multi-leg flow driven by pyspnego (the NTLM engine behind
requests-ntlm and requests-kerberos):

    request without credentials ──> 401  WWW-Authenticate: Negotiate / NTLM
    Authorization: NTLM <type 1>  ──> 401  WWW-Authenticate: NTLM <type 2 challenge>
    Authorization: NTLM <type 3>  ──> the answer to the request

NTLM authenticates the TCP connection, not the request: httpx keeps the connection alive, so
later requests on it go straight through and only a new connection pays the handshake again.
Over HTTPS the type-3 message carries the `tls-server-end-point` channel binding (RFC 5929),
as Windows' Extended Protection for Authentication expects.

Why not a package: `httpx-ntlm` (1.4.0, November 2023, one maintainer, untyped) and
`httpx-auth` (its Negotiate class sends no channel bindings) are not project dependencies;
the flow over pyspnego, which is one, is this one short module.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Generator

import httpx
import spnego
import spnego.channel_bindings
import spnego.exceptions

from engine.errors import AuthenticationError

SYSTEM = "gp"


class NtlmAuth(httpx.Auth):
    """NTLM over HTTP with `DOMAIN\\user` and a password (from the secret store).

    The password is kept only for pyspnego; it never enters a message or an exception.
    """

    requires_request_body = True  # the body is sent again on each leg of the handshake

    def __init__(self, domain: str, username: str, password: str, *, send_cbt: bool = True) -> None:
        self._user = f"{domain}\\{username}" if domain else username
        self._password = password
        self._send_cbt = send_cbt
        self.handshakes = 0
        """How many NTLM handshakes this auth performed (one per new connection)."""

    def __repr__(self) -> str:
        return f"NtlmAuth(user={self._user!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send as is; on a 401 offering NTLM/Negotiate, run the three-leg handshake once."""
        response = yield request
        scheme = _offered_scheme(response)
        if response.status_code != 401 or scheme is None:
            return
        self.handshakes += 1
        context = self._context(request, response)
        negotiate = self._step(context, None)
        request.headers["Authorization"] = f"{scheme} {base64.b64encode(negotiate).decode()}"
        response = yield request
        challenge = _challenge_token(response, scheme)
        if response.status_code != 401 or challenge is None:
            return  # accepted already, or refused outright: the caller sees the answer
        authenticate = self._step(context, challenge)
        request.headers["Authorization"] = f"{scheme} {base64.b64encode(authenticate).decode()}"
        yield request

    def _context(self, request: httpx.Request, response: httpx.Response) -> spnego.ContextProxy:
        bindings = tls_channel_bindings(response) if self._send_cbt else None
        try:
            return spnego.client(
                username=self._user,
                password=self._password,
                hostname=request.url.host or "unspecified",
                service="HTTP",
                protocol="ntlm",
                channel_bindings=bindings,
                options=spnego.NegotiateOptions.use_ntlm,  # pure-Python NTLM, never a system GSSAPI
            )
        except spnego.exceptions.SpnegoError as exc:
            raise AuthenticationError(f"cannot start NTLM for {self._user}: {exc.message}", system=SYSTEM) from None

    def _step(self, context: spnego.ContextProxy, token: bytes | None) -> bytes:
        try:
            out = context.step(token)
        except (spnego.exceptions.SpnegoError, ValueError, KeyError) as exc:
            detail = exc.message if isinstance(exc, spnego.exceptions.SpnegoError) else type(exc).__name__
            raise AuthenticationError(
                f"NTLM handshake for {self._user} failed: the server's challenge is unusable ({detail})",
                system=SYSTEM,
            ) from None
        if not out:
            raise AuthenticationError(f"NTLM handshake for {self._user} produced no token", system=SYSTEM)
        return out


def basic_auth(domain: str, username: str, password: str) -> httpx.BasicAuth:
    """Basic authentication as `DOMAIN\\user:password` (the SBA alternative to NTLM)."""
    return httpx.BasicAuth(f"{domain}\\{username}" if domain else username, password)


def _offered_scheme(response: httpx.Response) -> str | None:
    """`NTLM` if the server offers it, else `Negotiate` (raw NTLM tokens are valid there)."""
    offered = {value.split(" ", 1)[0].strip().lower() for value in _authenticate_headers(response)}
    for scheme in ("NTLM", "Negotiate"):
        if scheme.lower() in offered:
            return scheme
    return None


def _challenge_token(response: httpx.Response, scheme: str) -> bytes | None:
    for value in _authenticate_headers(response):
        name, _, token = value.strip().partition(" ")
        if name.lower() == scheme.lower() and token.strip():
            try:
                return base64.b64decode(token.strip(), validate=True)
            except ValueError:
                raise AuthenticationError(
                    f"NTLM challenge from {response.request.url.host} is not base64", system=SYSTEM
                ) from None
    return None


def _authenticate_headers(response: httpx.Response) -> list[str]:
    values: list[str] = []
    for header in response.headers.get_list("WWW-Authenticate"):
        # Some servers fold several challenges into one header; schemes of interest have no commas.
        values += [part.strip() for part in header.split(",") if part.strip()]
    return values


def tls_channel_bindings(response: httpx.Response) -> spnego.channel_bindings.GssChannelBindings | None:
    """The `tls-server-end-point` binding of the connection `response` came on (None over HTTP)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    certificate = ssl_object.getpeercert(binary_form=True)
    if not certificate:
        return None
    return spnego.channel_bindings.GssChannelBindings(
        application_data=b"tls-server-end-point:" + certificate_hash(certificate)
    )


def certificate_hash(der: bytes) -> bytes:
    """RFC 5929 hash of a server certificate: its signature hash, SHA-256 for MD5/SHA-1."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    name = "sha256"
    try:
        algorithm = x509.load_der_x509_certificate(der).signature_hash_algorithm
    except (ValueError, UnsupportedAlgorithm):
        algorithm = None
    if algorithm is not None and algorithm.name not in ("md5", "sha1"):
        name = algorithm.name
    return hashlib.new(name, der).digest()
