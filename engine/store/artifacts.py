"""Artifacts: the exact bytes a job read and wrote (input document, output file, 997...).

Stored in the database with their SHA-256 and size (whole, or in chunks for a file streamed
in: `put_artifact_stream`), so a job can be replayed from its input and a file compared with
what was sent, on any machine that reaches the store. A job may hold several artifacts of one
role (a replay stores a new output); the newest wins in `artifact`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, LargeBinary, Row, func, insert, select, update

from engine.errors import StoreError
from engine.store.models import artifact_chunks
from engine.store.models import artifacts as artifact_table
from engine.store.records import Artifact, NewArtifact

if TYPE_CHECKING:
    from engine.store.transaction import Transaction


def put_artifact(tx: Transaction, job_id: int, role: str, name: str, content: bytes, media_type: str) -> Artifact:
    """Store the exact bytes of a job's input, output, 997... with their SHA-256."""
    values = _values(tx, NewArtifact(job_id, role, name, content, media_type))
    artifact_id: int = tx.connection.execute(_PUT, values).scalar_one()
    return Artifact(artifact_id, job_id, role, name, media_type, values["sha256"], values["size"], values["content"], values["created_at"])


def put_artifacts(tx: Transaction, artifacts: Sequence[NewArtifact]) -> None:
    """`put_artifact` for several artifacts in one executemany of the INSERT (the outputs of a
    batch of renders)."""
    if artifacts:
        tx.connection.execute(_PUT_MANY, [_values(tx, artifact) for artifact in artifacts])


def _values(tx: Transaction, artifact: NewArtifact) -> dict[str, Any]:
    content = artifact.content
    if not isinstance(content, bytes | bytearray | memoryview):
        raise StoreError(f"artifact {artifact.name!r} of job {artifact.job_id}: content must be bytes, not {type(content).__name__}")
    data = bytes(content)
    return {
        "job_id": artifact.job_id,
        "role": artifact.role,
        "name": artifact.name,
        "media_type": artifact.media_type,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "content": data,
        "created_at": tx.now(),
    }


_PUT = insert(artifact_table).returning(artifact_table.c.id)
_PUT_MANY = insert(artifact_table)


def put_artifact_stream(
    tx: Transaction, job_id: int, role: str, name: str, chunks: Iterable[bytes], media_type: str
) -> Artifact:
    """Store an artifact from `chunks` without joining them in memory (a pushed file
    spooled to disk): each chunk is a row of its own, the SHA-256 and size are computed on
    the way. Read back, it is one `Artifact` like any other; the one returned here has an
    empty `content` (filling it would join the chunks)."""
    now = tx.now()
    connection = tx.connection
    values = {"job_id": job_id, "role": role, "name": name, "media_type": media_type, "sha256": "", "size": 0, "content": b"", "created_at": now}
    artifact_id: int = connection.execute(_PUT, values).scalar_one()
    digest = hashlib.sha256()
    size = 0
    for seq, chunk in enumerate(piece for piece in chunks if piece):
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise StoreError(f"artifact {name!r} of job {job_id}: chunks must be bytes, not {type(chunk).__name__}")
        data = bytes(chunk)
        digest.update(data)
        size += len(data)
        connection.execute(insert(artifact_chunks), {"artifact_id": artifact_id, "seq": seq, "content": data})
    sha256 = digest.hexdigest()
    connection.execute(update(artifact_table).where(artifact_table.c.id == artifact_id).values(sha256=sha256, size=size))
    # The content is not read back here (that would hold it whole): `artifact` reads it.
    return Artifact(artifact_id, job_id, role, name, media_type, sha256, size, b"", now)


def artifacts(tx: Transaction, job_id: int) -> list[Artifact]:
    """Every artifact of the job, oldest first."""
    query = select(artifact_table).where(artifact_table.c.job_id == job_id).order_by(artifact_table.c.id)
    return [_artifact(tx.connection, row) for row in tx.connection.execute(query).all()]


def artifact(tx: Transaction, job_id: int, role: str) -> Artifact | None:
    """The newest artifact of the job in `role`, or None."""
    query = (
        select(artifact_table)
        .where(artifact_table.c.job_id == job_id, artifact_table.c.role == role)
        .order_by(artifact_table.c.id.desc())
        .limit(1)
    )
    row = tx.connection.execute(query).one_or_none()
    return None if row is None else _artifact(tx.connection, row)


def artifact_range(tx: Transaction, job_id: int, role: str, start: int, length: int) -> bytes | None:
    """`length` bytes from byte `start` of the job's newest artifact in `role`, or None.

    Cut in the database: one transaction of a big file is read without loading the file, and
    for an artifact stored in chunks only the chunks the range overlaps are read."""
    if start < 0 or length < 0:
        raise StoreError(f"artifact {role!r} of job {job_id}: invalid range {start}+{length}")
    query = (
        select(artifact_table.c.id, artifact_table.c.size, func.length(artifact_table.c.content).label("stored"))
        .where(artifact_table.c.job_id == job_id, artifact_table.c.role == role)
        .order_by(artifact_table.c.id.desc())
        .limit(1)
    )
    row = tx.connection.execute(query).one_or_none()
    if row is None:
        return None
    if row.stored or not row.size:
        piece = func.substr(artifact_table.c.content, start + 1, length, type_=LargeBinary())
        return bytes(tx.connection.execute(select(piece).where(artifact_table.c.id == row.id)).scalar_one() or b"")
    return _chunked_range(tx.connection, row.id, start, length)


def _chunked_range(connection: Connection, artifact_id: int, start: int, length: int) -> bytes:
    sizes = select(artifact_chunks.c.seq, func.length(artifact_chunks.c.content)).where(artifact_chunks.c.artifact_id == artifact_id).order_by(artifact_chunks.c.seq)
    end = start + length
    wanted: list[tuple[int, int, int]] = []  # (seq, first byte in the chunk, bytes from it)
    offset = 0
    for seq, size in connection.execute(sizes).all():
        if offset < end and offset + size > start:
            first = max(start - offset, 0)
            wanted.append((seq, first, min(end, offset + size) - offset - first))
        offset += size
        if offset >= end:
            break
    pieces = []
    for seq, first, count in wanted:
        piece = func.substr(artifact_chunks.c.content, first + 1, count, type_=LargeBinary())
        query = select(piece).where(artifact_chunks.c.artifact_id == artifact_id, artifact_chunks.c.seq == seq)
        pieces.append(bytes(connection.execute(query).scalar_one()))
    return b"".join(pieces)


def _chunked_content(connection: Connection, artifact_id: int) -> bytes:
    query = select(artifact_chunks.c.content).where(artifact_chunks.c.artifact_id == artifact_id).order_by(artifact_chunks.c.seq)
    return b"".join(bytes(piece) for piece in connection.execute(query).scalars())


def _artifact(connection: Connection, row: Row[Any]) -> Artifact:
    content = bytes(row.content)
    if row.size and not content:  # stored in pieces (put_artifact_stream)
        content = _chunked_content(connection, row.id)
    return Artifact(
        id=row.id,
        job_id=row.job_id,
        role=row.role,
        name=row.name,
        media_type=row.media_type,
        sha256=row.sha256,
        size=row.size,
        content=content,
        created_at=row.created_at,
    )
