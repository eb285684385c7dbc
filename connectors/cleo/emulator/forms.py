"""Request-body parsing for the Cleo emulator: URL-encoded forms and multipart uploads.

Starlette's own form parsing needs the `python-multipart` package, which is not a dependency
of this project; the standard library parses both formats exactly (the `email` package keeps
multipart payloads byte for byte), so no extra dependency is taken for an emulator.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from connectors.cleo.emulator.state import EmulatorError


def parse_urlencoded(body: bytes) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` body (last value wins)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EmulatorError(400, "The form body is not valid UTF-8.") from exc
    return {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


def parse_multipart_file(content_type: str, body: bytes, field: str) -> tuple[str, bytes]:
    """The file name and bytes of the part named `field` of a `multipart/form-data` body."""
    if "boundary=" not in content_type:
        raise EmulatorError(400, f"Multipart body without a boundary (Content-Type: {content_type!r}).")
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise EmulatorError(400, "The multipart body could not be parsed.")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != field:
            continue
        filename = part.get_filename()
        if not filename:
            raise EmulatorError(400, f"The multipart field {field!r} has no filename.")
        payload = part.get_payload(decode=True)
        return filename, payload if isinstance(payload, bytes) else b""
    raise EmulatorError(400, f"The multipart body has no field {field!r}.")
