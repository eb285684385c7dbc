"""Artifacts: the exact bytes a job read and wrote (input document, output file, 997...).

Stored whole in the database with their SHA-256 and size, so a job can be replayed from its
input and a file compared with what was sent, on any machine that reaches the store. A job
may hold several artifacts of one role (a replay stores a new output); the newest wins in
`latest`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, LargeBinary, Row, func, insert, select

from engine.errors import StoreError
from engine.store.models import artifacts
from engine.store.records import Artifact


def put(
    connection: Connection, job_id: int, role: str, name: str, content: bytes, *, media_type: str, now: datetime
) -> Artifact:
    """Store `content` for the job under `role` and `name`."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise StoreError(f"artifact {name!r} of job {job_id}: content must be bytes, not {type(content).__name__}")
    data = bytes(content)
    sha256 = hashlib.sha256(data).hexdigest()
    values = {
        "job_id": job_id,
        "role": role,
        "name": name,
        "media_type": media_type,
        "sha256": sha256,
        "size": len(data),
        "content": data,
        "created_at": now,
    }
    artifact_id: int = connection.execute(_PUT, values).scalar_one()
    return Artifact(artifact_id, job_id, role, name, media_type, sha256, len(data), data, now)


_PUT = insert(artifacts).returning(artifacts.c.id)


def of_job(connection: Connection, job_id: int) -> list[Artifact]:
    """Every artifact of the job, oldest first."""
    query = select(artifacts).where(artifacts.c.job_id == job_id).order_by(artifacts.c.id)
    return [_artifact(row) for row in connection.execute(query)]


def latest(connection: Connection, job_id: int, role: str) -> Artifact | None:
    """The newest artifact of the job in `role`, or None."""
    query = (
        select(artifacts)
        .where(artifacts.c.job_id == job_id, artifacts.c.role == role)
        .order_by(artifacts.c.id.desc())
        .limit(1)
    )
    row = connection.execute(query).one_or_none()
    return None if row is None else _artifact(row)


def read_range(connection: Connection, job_id: int, role: str, start: int, length: int) -> bytes | None:
    """`length` bytes from byte `start` of the job's newest artifact in `role` (read in the
    database: one transaction of a big file without loading the file); None when there is none."""
    if start < 0 or length < 0:
        raise StoreError(f"artifact {role!r} of job {job_id}: invalid range {start}+{length}")
    piece = func.substr(artifacts.c.content, start + 1, length, type_=LargeBinary())
    query = (
        select(piece)
        .where(artifacts.c.job_id == job_id, artifacts.c.role == role)
        .order_by(artifacts.c.id.desc())
        .limit(1)
    )
    row = connection.execute(query).one_or_none()
    return None if row is None else bytes(row[0])


def _artifact(row: Row[Any]) -> Artifact:
    return Artifact(
        id=row.id,
        job_id=row.job_id,
        role=row.role,
        name=row.name,
        media_type=row.media_type,
        sha256=row.sha256,
        size=row.size,
        content=bytes(row.content),
        created_at=row.created_at,
    )
