"""The one exception tree of ml-connector.

Every error the engine or a connector raises on purpose is a subclass of `MlcError`. What the
runtime does with an error follows from its class: a `TransientError` is retried with backoff,
anything else fails (dead-letters) the job at once with its message.

    MlcError                        one-line message, never a traceback for the user
    ├── UsageError                  bad command-line use (exit code 2)
    ├── ConfigError                 a project file is invalid or refers to something unknown
    ├── SecretError                 a secret is missing, or cannot be decrypted with the key
    ├── X12Error                    reading X12: carries source, segment position and segment id
    │   ├── X12SyntaxError          not X12 at all: empty, binary, JSON, no usable ISA, bad UTF-8
    │   └── X12EnvelopeError        ISA/GS/ST/SE/GE/IEA structure broken (truncated, mismatched)
    ├── X12DefinitionError          a transaction-set definition is missing or malformed
    ├── X12WriteError               a value cannot be written (delimiter in data, width exceeded)
    ├── MappingError                a mapping cannot render a document (field, mapping line)
    │   └── GuideError              a document breaks its partner's guide (rule, segment, element)
    ├── StoreError                  the state store failed (a bad value, a job not in the expected state)
    │   └── StoreBusyError          locked, lock or statement timeout, deadlock, lost connection (also transient)
    ├── Waiting                     not a failure: the job waits for others (a file for its transactions)
    └── ConnectorError              anything a connector reports; carries the system name
        ├── AuthenticationError     credentials refused, token could not be obtained or refreshed
        ├── ProtocolError           the remote answered something unusable (bad JSON, HTML, cut)
        ├── HttpStatusError         an HTTP error status: carries status, method, url, excerpt
        │   ├── ConflictError       409 / stale ETag after the one re-read retry
        │   ├── UnauthorizedError   401/403, or a token endpoint's refusal (also an AuthenticationError)
        │   ├── NotFoundError       404
        │   ├── RemoteValidationError  the remote refused the content (e.g. GP closed period)
        │   └── RetriableHttpError  429, 408, 5xx (also a TransientError)
        ├── RefusedOperationError   the connector refused before sending (e.g. GP History write)
        ├── RateBudgetError         the connection's rate budget has no turn within max_wait: not sent (also transient)
        └── TransportError          timeout, refused or dropped connection (also transient)

`TransientError` is a mixin: `isinstance(exc, TransientError)` decides a retry.
No `httpx` exception escapes a connector: they are translated at the boundary with
`raise ... from exc`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class MlcError(Exception):
    """Base of every error raised on purpose by ml-connector; `str()` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message.replace("\n", " ")


class TransientError(MlcError):
    """Mixin for errors worth retrying with backoff (throttling, 5xx, dropped connections)."""


class UsageError(MlcError):
    """The command line was used wrongly (exit code 2)."""


class ConfigError(MlcError):
    """A project file is invalid or refers to something that does not exist."""


class SecretError(MlcError):
    """A secret is missing, or the stored value cannot be decrypted with the current key."""


class X12Error(MlcError):
    """A problem reading X12 input, located by source name and segment position."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "<input>",
        position: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        self.detail = message
        self.source = source
        self.position = position
        self.segment_id = segment_id
        where = source
        if position is not None:
            where += f": segment {position}"
            if segment_id:
                where += f" ({segment_id})"
        super().__init__(f"{where}: {message}")


class X12SyntaxError(X12Error):
    """The input is not X12 at all, or its ISA cannot be used to find the delimiters."""


class X12EnvelopeError(X12Error):
    """The ISA/GS/ST/SE/GE/IEA envelope is broken: truncated, mismatched or miscounted."""


class X12DefinitionError(MlcError):
    """A transaction-set definition is missing or malformed."""


class X12WriteError(MlcError):
    """A value cannot be written as X12 (delimiter in data under the reject policy, too wide)."""


class MappingError(MlcError):
    """A mapping cannot render a document; the message names the mapping line and the field."""


class GuideError(MappingError):
    """A document breaks its partner's guide; `violations` are the broken requirements
    (`engine.guides.check.Violation`), the message names each rule, segment and element."""

    def __init__(self, message: str, violations: list[Any] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class Waiting(MlcError):
    """The job cannot finish yet because other jobs it waits for have not (a file job whose
    transactions are retrying or running elsewhere): it is put back until `not_before`
    without spending an attempt, never dead-lettered for waiting."""

    def __init__(self, message: str, not_before: datetime) -> None:
        super().__init__(message)
        self.not_before = not_before


class StoreError(MlcError):
    """The state store failed: a value it refuses, a job that is not in the expected state, a
    schema it cannot migrate. Not retried: running the job again would meet the same refusal."""


class StoreBusyError(StoreError, TransientError):
    """The database could not answer now: SQLite locked or busy, a lock wait or statement
    timeout, a deadlock or serialization failure, a lost connection. Retried with backoff."""


class ConnectorError(MlcError):
    """Anything a connector reports; `system` names the remote system (bc, cleo, gp, folder)."""

    def __init__(self, message: str, *, system: str) -> None:
        self.system = system
        super().__init__(f"{system}: {message}")


class AuthenticationError(ConnectorError):
    """Credentials were refused, or a token could not be obtained or refreshed."""


class ProtocolError(ConnectorError):
    """The remote answered something unusable: malformed JSON, an HTML page, a cut-off body."""


class RefusedOperationError(ConnectorError):
    """The connector refused an operation before sending anything (a safety rule)."""


class RateBudgetError(ConnectorError, TransientError):
    """The request's turn under the connection's rate budget is more than `max_wait` away, so it
    was not sent; `retry_after` is when the turn would have come (seconds). The job is retried
    later instead of holding its worker (connectors do not retry it in-process)."""

    def __init__(self, message: str, *, system: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message, system=system)


class TransportError(ConnectorError, TransientError):
    """Timeout, refused or dropped connection: retriable."""


class HttpStatusError(ConnectorError):
    """The remote answered with an error status.

    Carries `status`, `method`, `url`, a short `excerpt` of the body (secrets masked by the
    connector before the excerpt is built) and `refusal`: the remote's own message, without the
    request and status the text frames it with (what a 997 for a refused set looks in).
    """

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int,
        method: str,
        url: str,
        excerpt: str = "",
        code: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.refusal = message
        self.excerpt = excerpt
        self.code = code
        # An SFTP refusal carries the HTTP status of its meaning (403, 404, 409) for the runtime;
        # the message does not pretend it was an HTTP answer.
        text = f"{method} {url} -> {'refused as' if url.startswith('sftp://') else 'HTTP'} {status}"
        if code:
            text += f" {code}"
        text += f": {message}"
        super().__init__(text, system=system)


class ConflictError(HttpStatusError):
    """409 or a stale ETag that persisted after the one re-read retry."""


class UnauthorizedError(HttpStatusError, AuthenticationError):
    """401/403 from the remote, or a token endpoint's refusal (Entra answers 400 or 401): the
    credentials or the token were refused."""


class NotFoundError(HttpStatusError):
    """404: the record or file does not exist."""


class RemoteValidationError(HttpStatusError):
    """The remote refused the content as invalid (e.g. GP: the fiscal period is closed)."""


class RetriableHttpError(HttpStatusError, TransientError):
    """429, 408 or 5xx: retry with backoff; `retry_after` in seconds when the server said."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int,
        method: str,
        url: str,
        excerpt: str = "",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, system=system, status=status, method=method, url=url, excerpt=excerpt, code=code)
