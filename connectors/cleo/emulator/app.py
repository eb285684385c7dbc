"""The Cleo Integration Cloud emulator: a Starlette app over `CleoEmulatorState`.

Implements the contract of connectors/cleo/paths.py (shared/reference/api-shapes.md section 2):
the password and refresh-token grants on `/api/authentication` (refresh tokens are single use),
Bearer checks answering 401 `{"message": ...}`, paged folder and file collections
(`startIndex`/`count` -> `totalResults`/`resources`), multipart or raw uploads that refuse a
name clash with 409, download, delete, and move by `PATCH {"folderId": ...}`. The app is
wrapped in a `FaultInjector`, so tests and demos can queue 429/5xx/drops/delays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.cleo import paths
from connectors.cleo.emulator.forms import multipart_file, parse_urlencoded
from connectors.cleo.emulator.state import CleoEmulatorState, EmulatorError, Folder, StoredFile
from connectors.common import FaultInjector, FaultPlan

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_NAME_LENGTH = 255

Handler = Callable[[Request, CleoEmulatorState], Awaitable[Response]]


def build_app(state: CleoEmulatorState | None = None, plan: FaultPlan | None = None) -> FaultInjector:
    """A fresh emulator app (seeded with the demo world unless `state` is given)."""
    state = state if state is not None else CleoEmulatorState.seeded()

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            query = f"?{request.url.query}" if request.url.query else ""
            line = f"{request.method} {request.url.path}{query}"
            try:
                await request.body()  # kept by Starlette for the handler (form(), json())
            except ClientDisconnect:
                # A client gone before its body arrived (a worker killed mid-upload) was never
                # served: it is logged as cut, so tests count only what reached a handler.
                state.log_request(f"CUT {line}")
                raise
            state.log_request(line)
            try:
                return await handler(request, state)
            except EmulatorError as exc:
                return _error(exc.status, exc.message)

        return Route(path, endpoint, methods=methods)

    app = Starlette(
        routes=[
            route(paths.AUTHENTICATION, _authenticate, ["POST"]),
            route(paths.FOLDERS, _list_folders, ["GET"]),
            route(paths.FOLDER, _get_folder, ["GET"]),
            route(paths.FOLDER_FILES, _list_files, ["GET"]),
            route(paths.FOLDER_FILES, _upload, ["POST"]),
            route(paths.FILE_CONTENT, _download, ["GET"]),
            route(paths.FILE, _get_file, ["GET"]),
            route(paths.FILE, _delete_file, ["DELETE"]),
            route(paths.FILE, _move_file, ["PATCH", "PUT"]),
        ]
    )
    app.state.emulator = state
    return FaultInjector(app, plan)


def _error(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return JSONResponse({"message": message}, status_code=status, headers=headers)


async def _authenticate(request: Request, state: CleoEmulatorState) -> Response:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise EmulatorError(400, f"Expected an application/x-www-form-urlencoded body, got {content_type!r}.")
    form = parse_urlencoded(await request.body())
    grant_type = form.get("grant_type", "")
    if grant_type == "password":
        missing = [key for key in ("username", "password") if not form.get(key)]
        if missing:
            raise EmulatorError(400, f"The password grant needs {' and '.join(missing)}.")
        return JSONResponse(state.password_grant(form["username"], form["password"]))
    if grant_type == "refresh_token":
        if not form.get("refresh_token"):
            raise EmulatorError(400, "The refresh_token grant needs refresh_token.")
        return JSONResponse(state.refresh_grant(form["refresh_token"]))
    raise EmulatorError(400, f"Unsupported grant_type {grant_type!r}; valid: password, refresh_token.")


def _page(request: Request, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> JSONResponse:
    values: dict[str, int] = {}
    for key, default in ((paths.START_INDEX, 0), (paths.COUNT, DEFAULT_PAGE_SIZE)):
        raw = request.query_params.get(key, str(default))
        try:
            values[key] = int(raw)
        except ValueError:
            raise EmulatorError(400, f"{key} must be an integer, got {raw!r}.") from None
    start, count = values[paths.START_INDEX], min(values[paths.COUNT], MAX_PAGE_SIZE)
    if start < 0 or count < 1:
        raise EmulatorError(400, f"startIndex must be >= 0 and count >= 1, got {start} and {count}.")
    page = items[start : start + count]
    return JSONResponse(
        {
            paths.TOTAL_RESULTS: len(items),
            paths.START_INDEX: start,
            "itemsPerPage": len(page),
            paths.RESOURCES: [render(item) for item in page],
        }
    )


def _folder_json(request: Request, folder: Folder) -> dict[str, Any]:
    root = request.scope.get("root_path", "")
    return {
        "id": folder.id,
        "name": folder.name,
        "path": "/" + folder.path,
        "permissions": list(folder.permissions),
        "meta": {"type": "folder"},
        "_links": {
            "self": {"href": root + paths.folder_path(folder.id)},
            "files": {"href": root + paths.folder_files_path(folder.id)},
        },
    }


def _file_json(request: Request, stored: StoredFile) -> dict[str, Any]:
    root = request.scope.get("root_path", "")
    return {
        "id": stored.id,
        "name": stored.name,
        "size": len(stored.content),
        "modified": stored.modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "folderId": stored.folder_id,
        "meta": {"type": "file"},
        "_links": {
            "self": {"href": root + paths.file_path(stored.id)},
            "content": {"href": root + paths.file_content_path(stored.id)},
        },
    }


async def _list_folders(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    return _page(request, state.sorted_folders(), lambda f: _folder_json(request, f))


async def _get_folder(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    return JSONResponse(_folder_json(request, state.folder(request.path_params["folder_id"])))


async def _list_files(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    files = state.readable_files_in(request.path_params["folder_id"])
    wanted = request.query_params.get(paths.FILTER)
    if wanted is not None:
        found = _NAME_FILTER.fullmatch(wanted.strip())
        if found is None:
            raise EmulatorError(400, f'Unsupported filter {wanted!r}; files can be filtered with name eq "<name>".')
        name = re.sub(r"\\(.)", r"\1", found.group(1))
        files = [f for f in files if f.name == name]
    return _page(request, files, lambda f: _file_json(request, f))


_NAME_FILTER = re.compile(r'name\s+eq\s+"((?:[^"\\]|\\.)*)"')


async def _upload(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if content_type.startswith("multipart/form-data"):
        name, content = await multipart_file(request, paths.UPLOAD_FIELD)
    else:
        name = request.query_params.get(paths.UPLOAD_NAME_PARAM, "")
        if not name:
            raise EmulatorError(
                400, f"A raw upload needs ?{paths.UPLOAD_NAME_PARAM}=; or send multipart field {paths.UPLOAD_FIELD!r}."
            )
        content = body
    _check_name(name)
    stored = state.upload(request.path_params["folder_id"], name, content)
    return JSONResponse(_file_json(request, stored), status_code=201)


def _check_name(name: str) -> None:
    if (
        name in (".", "..")
        or len(name) > MAX_NAME_LENGTH
        or any(ch in name for ch in "/\\\x00")
        or any(ord(ch) < 32 for ch in name)
    ):
        raise EmulatorError(400, f"Invalid file name {name!r}: no slashes, NUL or control characters, not '.' or '..'.")


async def _download(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    stored = state.readable_file(request.path_params["file_id"])
    return Response(
        stored.content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{stored.name}"'},
    )


async def _get_file(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    return JSONResponse(_file_json(request, state.file(request.path_params["file_id"])))


async def _delete_file(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    state.delete(request.path_params["file_id"])
    return Response(status_code=204)


async def _move_file(request: Request, state: CleoEmulatorState) -> Response:
    state.check_access(request.headers.get("authorization"))
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise EmulatorError(400, "The body is not valid JSON.") from None
    folder_id = body.get(paths.MOVE_FOLDER_FIELD) if isinstance(body, dict) else None
    if not isinstance(folder_id, str) or not folder_id:
        raise EmulatorError(400, f"Send a JSON object with {paths.MOVE_FOLDER_FIELD!r} naming the target folder.")
    stored = state.move(request.path_params["file_id"], folder_id)
    return JSONResponse(_file_json(request, stored))
