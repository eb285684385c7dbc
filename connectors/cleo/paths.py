"""Every Cleo REST path and wire name the connector (and its emulator) relies on, in one place.

Authentication (`POST /api/authentication`, password grant) is confirmed for Cleo Harmony and
Cleo Integration Cloud; the collection paging (`startIndex`, `count`, `totalResults`,
`resources`) is confirmed for Harmony's REST API. The folder and file operations are **not**
publicly documented for either product (shared/reference/api-shapes.md section 2.3, all [U]):
the paths below are the suggested contract the emulator implements. When the real paths are
known, change this module only; the client and the emulator both read their routes from here.
The SFTP transport (`connectors.cleo.sftp`, docs/cleo-sftp.md) relies on none of them.

Templates use `{folder_id}` / `{file_id}`; the `*_path` functions fill them in, percent-encoding
the id so an opaque id can never add a path segment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

AUTHENTICATION = "/api/authentication"
"""Token endpoint: form `grant_type=password|refresh_token` [C for password, U for refresh]."""

FOLDERS = "/api/folders"
"""Paged collection of the mailbox folders."""

FOLDER = "/api/folders/{folder_id}"
FOLDER_FILES = "/api/folders/{folder_id}/files"
"""Paged collection of a folder's files; POST here uploads (multipart field `file`)."""

FILE = "/api/files/{file_id}"
"""One file: GET its description, DELETE it, PATCH `{"folderId": ...}` to move it."""

FILE_CONTENT = "/api/files/{file_id}/content"
"""The file's bytes (`application/octet-stream`)."""

# Paging (Harmony collection convention [C]).
START_INDEX = "startIndex"
COUNT = "count"
TOTAL_RESULTS = "totalResults"
RESOURCES = "resources"

# Filtering a collection: Harmony's SCIM-like `filter` parameter [C for connections and users,
# e.g. `alias eq "PartnerX"`]; that file collections take `name eq "..."` is [U].
FILTER = "filter"


def name_filter(name: str) -> dict[str, str]:
    """Query parameters selecting the files called `name` (`filter=name eq "850_1.edi"`)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return {FILTER: f'name eq "{escaped}"'}


# Upload: multipart/form-data with this field, or a raw body with `?name=` [U].
UPLOAD_FIELD = "file"
UPLOAD_NAME_PARAM = "name"

# Move: the body of PATCH FILE [U].
MOVE_FOLDER_FIELD = "folderId"


def folder_path(folder_id: str) -> str:
    """The path of one folder."""
    return FOLDER.format(folder_id=quote(folder_id, safe=""))


def folder_files_path(folder_id: str) -> str:
    """The path of a folder's file collection (list and upload)."""
    return FOLDER_FILES.format(folder_id=quote(folder_id, safe=""))


def file_path(file_id: str) -> str:
    """The path of one file (describe, delete, move)."""
    return FILE.format(file_id=quote(file_id, safe=""))


def file_content_path(file_id: str) -> str:
    """The path of one file's content (download)."""
    return FILE_CONTENT.format(file_id=quote(file_id, safe=""))


def move_body(folder_id: str) -> dict[str, Any]:
    """The JSON body that moves a file into the folder `folder_id`."""
    return {MOVE_FOLDER_FIELD: folder_id}


def page_params(start_index: int, count: int) -> dict[str, int]:
    """Query parameters asking for one page of a collection."""
    return {START_INDEX: start_index, COUNT: count}
