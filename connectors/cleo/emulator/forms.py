"""Request-body parsing for the Cleo emulator: URL-encoded forms and multipart uploads.

URL-encoded bodies are read by the standard library (`parse_qs`); multipart uploads by
Starlette's form parser (python-multipart), which streams the file part instead of building an
email message of the whole body (that was a third of the emulator's CPU per upload).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from connectors.cleo.emulator.state import EmulatorError


def parse_urlencoded(body: bytes) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` body (last value wins)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EmulatorError(400, "The form body is not valid UTF-8.") from exc
    return {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


async def multipart_file(request: Request, field: str) -> tuple[str, bytes]:
    """The file name and bytes of the part named `field` of a `multipart/form-data` body."""
    if "boundary=" not in request.headers.get("content-type", ""):
        raise EmulatorError(400, f"Multipart body without a boundary (Content-Type: {request.headers.get('content-type', '')!r}).")
    try:
        async with request.form() as form:
            part = form.get(field)
            if part is None:
                raise EmulatorError(400, f"The multipart body has no field {field!r}.")
            if not isinstance(part, UploadFile) or not part.filename:
                raise EmulatorError(400, f"The multipart field {field!r} has no filename.")
            return part.filename, await part.read()
    except HTTPException as exc:  # python-multipart could not read it
        raise EmulatorError(400, f"The multipart body could not be parsed: {exc.detail}") from exc
