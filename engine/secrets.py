"""Named secrets (BC client secret, Cleo password, GP domain password), stored encrypted.

Connection YAML names a secret; it never holds one. A `SecretStore` maps names to values:
this module has the protocol and the JSON-file implementation (`JsonFileSecretStore`, by
default `<project>/.mlc/secrets.json`); a database-backed store implements the same protocol.
Encryption lives in `engine.masterkey` (`Cipher`, `MasterKey`, `KeySource`), apart from
storage.

The file, written atomically (temporary file + rename) with mode 0600:

    {"version": 1,
     "secrets": {"bc-client-secret": {"key_id": "1a2b3c4d", "nonce": "<base64>",
                                      "ciphertext": "<base64>", "updated_at": "2024-05-02T10:00:00Z"}}}

Connectors receive a `SecretResolver`: `resolver("bc-client-secret") -> str`, and
`resolver.known_values()` lists every value it handed out so error text can be masked.
Values never appear in a message, a repr or a log line produced here.

Key rotation (`rotate_master_key`) never leaves the store undecryptable:
- every value is decrypted and re-sealed in memory first; a failure there changes nothing;
- with a key file, the current key is kept as `master.key.old` and the new key installed, then
  the store is replaced in one rename, then `master.key.old` is removed. Readers use both keys
  while `.old` exists (each record names its key), so an interruption at any point leaves every
  secret readable, and the next `rotate-key` finishes the interrupted one first;
- with `MLC_MASTER_KEY`, the environment cannot be changed from here: the new key is printed
  (or was given on stdin) *before* the store is replaced, and if printing fails nothing is
  replaced. The operator then installs it; until then the old key keeps working on the old file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from engine.durable import fsync_dir
from engine.errors import SecretError
from engine.masterkey import Cipher, KeySource, MasterKey, SealedValue

MIN_MASKED_LENGTH = 4
"""Shorter values are not masked: replacing every "ab" in a message would hide nothing and garble it."""


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value of MIN_MASKED_LENGTH characters or more replaced by `***`,
    longest first (so a secret that contains another is masked whole)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_MASKED_LENGTH:
            text = text.replace(secret, "***")
    return text


if sys.platform != "win32":
    import fcntl

STATE_DIR_ENV = "MLC_STATE_DIR"
STORE_FILE = "secrets.json"
FORMAT_VERSION = 1
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
VALID_NAMES = "letters A-Z a-z, digits 0-9, '_', '.' and '-' (1 to 128 characters)"


def validate_name(name: str) -> str:
    """`name` if it is a valid secret name, else a `SecretError` saying what is valid."""
    if not NAME_RE.fullmatch(name):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise SecretError(f"invalid secret name {shown!r}: use {VALID_NAMES}")
    return name


def state_dir(project: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The project's state directory: `MLC_STATE_DIR` when set, else `<project>/.mlc`."""
    env = os.environ if environ is None else environ
    override = env.get(STATE_DIR_ENV)
    return Path(override).expanduser() if override else project / ".mlc"


@dataclass(frozen=True)
class SecretEntry:
    """What may be shown about a stored secret: its name, sealing key id and last update."""

    name: str
    key_id: str
    updated_at: str


@dataclass(frozen=True)
class SecretProblem:
    """A stored secret that cannot be read with the current key, and why (no value inside)."""

    name: str
    message: str


class SecretStore(Protocol):
    """Named secrets, encrypted at rest."""

    def get(self, name: str) -> str:
        """The value; `SecretError` when it is not set or cannot be decrypted."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store (or replace) a value, sealed with the current key."""
        ...

    def delete(self, name: str) -> None:
        """Forget a secret; `SecretError` when it is not set."""
        ...

    def names(self) -> list[str]:
        """Sorted names of the stored secrets."""
        ...

    def entries(self) -> list[SecretEntry]:
        """Name, key id and update time of every stored secret, sorted by name."""
        ...

    def check(self) -> list[SecretProblem]:
        """Every stored secret that does not decrypt with the current key (empty when all do)."""
        ...

    def rotate(self, new_key: MasterKey, *, before_commit: Callable[[], None] | None = None) -> int:
        """Re-seal every value with `new_key`, all or nothing; returns how many.

        `before_commit` runs after everything is re-sealed and before the change is committed;
        if it raises, nothing changes.
        """
        ...


class JsonFileSecretStore:
    """A `SecretStore` in one JSON file, replaced atomically on every change.

    `cipher` may be None for `names`, `entries` and `delete`, which need no key.
    """

    def __init__(
        self,
        path: Path,
        cipher: Cipher | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path
        self.cipher = cipher
        self._clock = clock

    @classmethod
    def for_project(cls, project: Path, cipher: Cipher | None = None) -> JsonFileSecretStore:
        """The store of `project`: `secrets.json` in its state directory."""
        return cls(state_dir(project) / STORE_FILE, cipher)

    def __repr__(self) -> str:
        return f"JsonFileSecretStore({str(self.path)!r})"

    def get(self, name: str) -> str:
        """The value of `name`."""
        records = self._load()
        if name not in records:
            raise SecretError(f"secret {name!r} is not set; run: mlc secrets set {name}")
        return self._need_cipher().open(name, self._sealed(name, records[name]))

    def set(self, name: str, value: str) -> None:
        """Seal `value` under `name` with the current key."""
        validate_name(name)
        if not value:
            raise SecretError(f"refusing to store an empty value for secret {name!r}")
        sealed = self._need_cipher().seal(name, value)
        with self._locked():
            records = self._load()
            records[name] = _record(sealed, self._now())
            self._write(records)

    def delete(self, name: str) -> None:
        """Remove `name`."""
        with self._locked():
            records = self._load()
            if name not in records:
                raise SecretError(f"secret {name!r} is not set in {self.path}")
            del records[name]
            self._write(records)

    def names(self) -> list[str]:
        """Sorted names."""
        return sorted(self._load())

    def entries(self) -> list[SecretEntry]:
        """Sorted entries (no values)."""
        return [
            SecretEntry(name, str(raw.get("key_id", "?")), str(raw.get("updated_at", "")))
            for name, raw in sorted(self._load().items())
        ]

    def check(self) -> list[SecretProblem]:
        """Every secret that fails to decrypt, with the reason."""
        cipher = self._need_cipher()
        problems = []
        for name, raw in sorted(self._load().items()):
            try:
                cipher.open(name, self._sealed(name, raw))
            except SecretError as exc:
                problems.append(SecretProblem(name, str(exc)))
        return problems

    def rotate(self, new_key: MasterKey, *, before_commit: Callable[[], None] | None = None) -> int:
        """Re-seal every value with `new_key` in memory, run `before_commit`, replace the file."""
        old = self._need_cipher()
        new = Cipher([new_key])
        with self._locked():
            records = self._load()
            resealed: dict[str, dict[str, Any]] = {}
            failed: list[str] = []
            for name, raw in sorted(records.items()):
                try:
                    value = old.open(name, self._sealed(name, raw))
                except SecretError:
                    failed.append(name)
                    continue
                resealed[name] = _record(new.seal(name, value), str(raw.get("updated_at") or self._now()))
            if failed:
                raise SecretError(
                    f"cannot rotate the key: {len(failed)} secret(s) do not decrypt with {old.primary.describe()}: "
                    f"{', '.join(failed)}; run: mlc secrets check"
                )
            if before_commit is not None:
                before_commit()
            self._write(resealed)
        self.cipher = new
        return len(resealed)

    # -- file handling -------------------------------------------------------------------------

    def _need_cipher(self) -> Cipher:
        if self.cipher is None:
            raise SecretError("no master key loaded for the secret store")
        return self.cipher

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretError(f"cannot read secrets file {self.path}: {exc}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SecretError(
                f"secrets file {self.path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
            ) from None
        if (
            not isinstance(doc, dict)
            or doc.get("version") != FORMAT_VERSION
            or not isinstance(doc.get("secrets"), dict)
        ):
            raise SecretError(
                f"secrets file {self.path} is not a version {FORMAT_VERSION} secrets file "
                f'(expected {{"version": {FORMAT_VERSION}, "secrets": {{...}}}})'
            )
        records: dict[str, dict[str, Any]] = {}
        for name, raw in doc["secrets"].items():
            records[name] = raw if isinstance(raw, dict) else {}
        return records

    def _sealed(self, name: str, raw: Mapping[str, Any]) -> SealedValue:
        try:
            key_id, nonce, ciphertext = raw["key_id"], raw["nonce"], raw["ciphertext"]
            if not all(isinstance(item, str) for item in (key_id, nonce, ciphertext)):
                raise TypeError
            return SealedValue(
                key_id, base64.b64decode(nonce, validate=True), base64.b64decode(ciphertext, validate=True)
            )
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise SecretError(
                f"secret {name!r} in {self.path} is malformed: expected string fields key_id, nonce and "
                f"ciphertext (base64); store it again with: mlc secrets set {name}"
            ) from None

    def _write(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        doc = {"version": FORMAT_VERSION, "secrets": dict(sorted(records.items()))}
        data = json.dumps(doc, indent=2) + "\n"
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")  # 0600
        tmp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SecretError(f"cannot write secrets file {self.path}: {exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.path.parent)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles between processes (advisory lock, POSIX only)."""
        if sys.platform == "win32":
            yield
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _record(sealed: SealedValue, updated_at: str) -> dict[str, str]:
    return {
        "key_id": sealed.key_id,
        "nonce": base64.b64encode(sealed.nonce).decode("ascii"),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode("ascii"),
        "updated_at": updated_at,
    }


@dataclass(frozen=True)
class RotationResult:
    """What a key rotation did (key ids only)."""

    old_key_id: str
    new_key_id: str
    count: int


def rotate_master_key(
    store: SecretStore,
    source: KeySource,
    new_key: MasterKey | None = None,
    *,
    announce: Callable[[MasterKey], None] | None = None,
) -> RotationResult:
    """Re-encrypt `store` (opened with `source`'s keys) under `new_key` (default: a new random key).

    With a key file the new key is installed there (see the module docstring for the order of
    writes). With `MLC_MASTER_KEY`, `announce(new_key)` must hand the key to the operator; it
    runs before the store is committed, and if it raises nothing is committed.
    """
    ring = source.keys()
    current = ring[0]
    new_key = new_key or MasterKey.generate(source=source.describe())
    if any(new_key.key_id == key.key_id for key in ring):
        raise SecretError(f"the new key is the current key ({current.describe()}); give a different key")
    key_file = source.key_file
    if key_file is None:
        if announce is None:
            raise SecretError("rotating MLC_MASTER_KEY needs a way to hand the new key to the operator")
        count = store.rotate(new_key, before_commit=lambda: announce(new_key))
        return RotationResult(current.key_id, new_key.key_id, count)
    if len(ring) > 1:
        # An earlier rotation was interrupted: finish it (everything under the current key)
        # before `stage` overwrites `.old`, which may still be the only key for some records.
        store.rotate(current)
        key_file.finish()
    count = store.rotate(new_key, before_commit=lambda: key_file.stage(current, new_key))
    key_file.finish()
    return RotationResult(current.key_id, new_key.key_id, count)


class SecretResolver:
    """What connectors receive: `resolver(name) -> value`, remembering what it handed out.

    Reads the store on every call, so a value changed with `mlc secrets set` is picked up
    without a restart.
    """

    def __init__(self, store: SecretStore) -> None:
        self._store = store
        self._seen: set[str] = set()

    def __repr__(self) -> str:
        return f"SecretResolver({self._store!r})"

    def __call__(self, name: str) -> str:
        """The value of secret `name`, or `SecretError` saying how to set it."""
        validate_name(name)
        value = self._store.get(name)
        self._seen.add(value)  # old values stay: a stale one can still turn up in text to mask
        return value

    def known_values(self) -> tuple[str, ...]:
        """Every value resolved so far, including replaced ones, longest first (for masking text)."""
        return tuple(sorted(self._seen, key=len, reverse=True))

    def mask(self, text: str) -> str:
        """`text` with every resolved value of 4 characters or more replaced by `***`."""
        return mask(text, self.known_values())
