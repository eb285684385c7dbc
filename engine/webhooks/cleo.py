"""Files pushed by a Cleo HTTP action: `POST /webhooks/cleo/<route>` with the X12 file as body.

    curl -X POST --data-binary @856.edi -H "X-MLC-Secret: $SECRET" \\
         "https://edi.example.com/webhooks/cleo/cleo-856-to-gp?partner=globex&name=856_GLX-SHP-2101.edi"

- The route must have a webhook trigger without `resource` (`{webhook: {connection: cleo}}`);
  the header `X-MLC-Secret` must equal that connection's webhook secret (constant-time compare).
- The partner is the `partner` query parameter, else the one whose ISA sender (ISA05/ISA06) the
  file carries; when both are there they must agree, and the partner must take part in the route.
- The file name is the `name` query parameter (a plain name: no folders, no `..`), else
  `push-<sha256 prefix>.edi`.
- The body is read as it arrives into a spool (memory up to 1 MiB, then a temporary file), its
  size checked against `server.max_push_bytes` (default 20 MiB: 413 as soon as it is passed,
  the rest never read) and its SHA-256 computed on the way; the file is then streamed into the
  store in 1 MiB pieces, never held whole.
- It goes into the same inbound ledger as polled inbox files (id `push:<name>` + SHA-256), with
  its job and stored bytes, in one transaction (`engine.runtime.poll.enqueue_file`). The same
  file pushed again is answered 200 with `created: false` and changes nothing; a new one is 202
  with its job id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from engine.errors import ConfigError, X12Error
from engine.runtime.poll import enqueue_file
from engine.webhooks.refusal import Refusal
from engine.webhooks.settings import SECRET_HEADER, WebhookSettings
from engine.x12 import delimiters

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["PushOutcome", "PushedFile", "accept_push", "isa_sender"]

SPOOL_BYTES = 1024 * 1024
"""A push is kept in memory up to this size while it arrives, then in a temporary file."""
CHUNK_BYTES = 1024 * 1024
"""The size of the pieces a push is written to the store in."""

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@=-]{0,199}$")
_ISA_PEEK = 512


@dataclass(frozen=True)
class PushOutcome:
    """What one push did: the job, or `created` False for a file received before."""

    created: bool
    job_id: int | None
    partner: str
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "job": self.job_id, "partner": self.partner, "name": self.name}


def isa_sender(content: bytes) -> tuple[str, str]:
    """(ISA05 qualifier, ISA06 id) of the file's first interchange; 400 when it is not X12."""
    head = content[:_ISA_PEEK].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    try:
        _, elements, _ = delimiters.detect(head, "the pushed file")
    except X12Error as exc:
        raise Refusal(400, f"the pushed file is not X12: {exc}") from None
    if len(elements) < 7:
        raise Refusal(400, "the pushed file's ISA segment is too short to name its sender")
    return elements[5].strip(), elements[6].strip()


def accept_push(
    runtime: Runtime,
    settings: WebhookSettings,
    route_name: str,
    *,
    secret: str,
    given_secret: str | None,
    partner: str | None,
    name: str | None,
    content: bytes | PushedFile,
) -> PushOutcome:
    """Check one pushed file and enqueue it (module docstring); `secret` is the expected value.
    `content` is the file (bytes, or a `PushedFile` the server spooled while it arrived)."""
    pushed = content if isinstance(content, PushedFile) else PushedFile.of(content)
    if route_name not in settings.pushes:
        raise Refusal(404, f"route {route_name!r} takes no pushes (it needs a webhook trigger without resource)")
    if not given_secret or not hmac.compare_digest(given_secret.encode(), secret.encode()):
        raise Refusal(401, f"the {SECRET_HEADER} header is missing or wrong")
    if not pushed.size:
        raise Refusal(400, "the pushed file is empty")
    qualifier, sender = isa_sender(pushed.head())
    project = runtime.project
    try:
        by_sender = project.match_partner("x12.sender", f"{qualifier}/{sender}")
    except ConfigError as exc:
        raise Refusal(422, str(exc)) from None
    if partner:
        chosen = project.partners.get(partner)
        if chosen is None:
            raise Refusal(422, f"no partner {partner!r} (partners: {', '.join(sorted(project.partners))})")
        if by_sender is not None and by_sender is not chosen:
            raise Refusal(422, f"the file's ISA sender {qualifier}/{sender} is partner {by_sender.id}, not {partner}")
    elif by_sender is None:
        raise Refusal(422, f"no partner has ISA sender {qualifier}/{sender}; name it with ?partner=")
    else:
        chosen = by_sender
    route = runtime.route(route_name)
    if not project.takes_part(chosen, route):
        raise Refusal(422, f"partner {chosen.id} does not take part in route {route_name}")
    filename = name or f"push-{pushed.sha256[:16]}.edi"
    if not _NAME.match(filename) or ".." in filename:
        raise Refusal(400, f"the file name {filename[:80]!r} is not a plain name (letters, digits, _ . + @ = -; no folders)")
    job = enqueue_file(runtime.context, route, chosen.id, filename, pushed)
    return PushOutcome(job is not None, job.id if job is not None else None, chosen.id, filename)


class PushedFile:
    """A pushed file as it arrived: spooled (in memory up to `SPOOL_BYTES`, then on disk), with
    its size and SHA-256 computed on the way, so the server never holds a large push whole."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by close())
        self._digest = hashlib.sha256()
        self.size = 0

    @classmethod
    def of(cls, content: bytes) -> PushedFile:
        pushed = cls()
        pushed.write(content)
        return pushed

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def head(self, size: int = _ISA_PEEK) -> bytes:
        """The first bytes (enough to read the ISA segment)."""
        self.file.seek(0)
        return self.file.read(size)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The content again, from the start, in pieces of `size` bytes."""
        self.file.seek(0)
        while piece := self.file.read(size):
            yield piece

    def close(self) -> None:
        self.file.close()
