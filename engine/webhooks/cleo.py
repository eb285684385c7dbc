"""Files pushed by a Cleo HTTP action: `POST /webhooks/cleo/<route>` with the X12 file as body.

    curl -X POST --data-binary @856.edi -H "X-MLC-Secret: $SECRET" \\
         "https://edi.example.com/webhooks/cleo/cleo-856-to-gp?partner=globex&name=856_GLX-SHP-2101.edi"

- The route must have a webhook trigger without `resource` (`{webhook: {connection: cleo}}`);
  the header `X-MLC-Secret` must equal that connection's webhook secret (constant-time compare).
- The partner is the `partner` query parameter, else the one whose ISA sender (ISA05/ISA06) the
  file carries; when both are there they must agree, and the partner must take part in the route.
- The file name is the `name` query parameter (a plain name: no folders, no `..`), else
  `push-<sha256 prefix>.edi`.
- The file goes through `engine.runtime.poll.enqueue_file`: ledger entry (push id + SHA-256),
  job and stored bytes in one transaction. The same file pushed again is answered 200 with
  `created: false` and changes nothing; a new one is 202 with its job id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError, X12Error
from engine.webhooks.refusal import Refusal
from engine.webhooks.settings import SECRET_HEADER, WebhookSettings
from engine.x12 import delimiters

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["MAX_PUSH_BYTES", "PushOutcome", "accept_push", "isa_sender"]

MAX_PUSH_BYTES = 100 * 1024 * 1024
"""The largest file accepted in one push."""

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
    content: bytes,
) -> PushOutcome:
    """Check one pushed file and enqueue it (module docstring); `secret` is the expected value."""
    from engine.runtime.poll import enqueue_file

    if route_name not in settings.pushes:
        raise Refusal(404, f"route {route_name!r} takes no pushes (it needs a webhook trigger without resource)")
    if not given_secret or not hmac.compare_digest(given_secret.encode(), secret.encode()):
        raise Refusal(401, f"the {SECRET_HEADER} header is missing or wrong")
    if not content:
        raise Refusal(400, "the pushed file is empty")
    qualifier, sender = isa_sender(content)
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
    digest = hashlib.sha256(content).hexdigest()
    filename = name or f"push-{digest[:16]}.edi"
    if not _NAME.match(filename) or ".." in filename:
        raise Refusal(400, f"the file name {filename[:80]!r} is not a plain name (letters, digits, _ . + @ = -; no folders)")
    job = enqueue_file(runtime, route, chosen.id, filename, content)
    return PushOutcome(job is not None, job.id if job is not None else None, chosen.id, filename)
