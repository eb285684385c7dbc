"""The master key that encrypts stored secrets, where it comes from, and the cipher it drives.

The key is 32 random bytes written as urlsafe base64 (44 characters, what `mlc secrets keygen`
prints). It comes from the environment variable `MLC_MASTER_KEY` when that is set, otherwise
from a key file: `MLC_KEY_FILE`, by default `~/.config/mlc/master.key`. A key file must not be
readable by group or others; it is created (mode 0600, in a 0700 directory) only when asked,
i.e. by the first `mlc secrets set`.

`Cipher` seals one secret value with AES-256-GCM (`cryptography`'s AESGCM, authenticated
encryption): a random 96-bit nonce per value, and the secret's name as associated data, so a
stored value moved to another name fails authentication. Each sealed value carries the id of
the key that sealed it (first 8 hex digits of the key's SHA-256), so a wrong key is reported as
"encrypted with key X, current key is Y" instead of by trying to decrypt. AESGCM rather than
Fernet: Fernet (AES-CBC + HMAC) has no associated data, and binding the value to its name is
what stops a swap.

A `Cipher` holds a key ring: the first key seals, every key can open a value carrying its id.
The ring has more than one key only while a key-file rotation is unfinished (`master.key.old`
still exists, see `KeyFile.stage`); that is what keeps the store readable whatever the moment a
rotation is interrupted.

Key material never appears in a message, a repr or a log: errors name the variable or the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.durable import fsync_dir
from engine.errors import SecretError

KEY_ENV = "MLC_MASTER_KEY"
KEY_FILE_ENV = "MLC_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/mlc/master.key")
KEY_BYTES = 32
NONCE_BYTES = 12
_AAD_PREFIX = b"mlc-secret-v1\x00"
_KEY_FORM = f"urlsafe base64 of {KEY_BYTES} bytes (44 characters, as printed by `mlc secrets keygen`)"


@dataclass(frozen=True)
class MasterKey:
    """A 256-bit key and where it came from (`source`, e.g. "MLC_MASTER_KEY"); repr hides the key."""

    raw: bytes = field(repr=False)
    source: str = "generated"

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_BYTES:
            raise SecretError(f"{self.source}: a master key is {KEY_BYTES} bytes, got {len(self.raw)}")

    @classmethod
    def generate(cls, source: str = "generated") -> MasterKey:
        """A new random key."""
        return cls(AESGCM.generate_key(bit_length=KEY_BYTES * 8), source)

    @classmethod
    def parse(cls, text: str, *, source: str) -> MasterKey:
        """Read a key written as `encoded()` does; errors name `source`, never the text."""
        body = text.strip()
        if not body:
            raise SecretError(f"{source} is empty; expected {_KEY_FORM}")
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise SecretError(
                f"{source} is not a valid master key: {len(body)} characters that are not {_KEY_FORM}"
            ) from None
        if len(raw) != KEY_BYTES:
            raise SecretError(
                f"{source} is not a valid master key: it decodes to {len(raw)} bytes; expected {_KEY_FORM}"
            )
        return cls(raw, source)

    @property
    def key_id(self) -> str:
        """First 8 hex digits of SHA-256 of the key: names the key without revealing it."""
        return hashlib.sha256(self.raw).hexdigest()[:8]

    def encoded(self) -> str:
        """The key as `MLC_MASTER_KEY` takes it (urlsafe base64, 44 characters)."""
        return base64.urlsafe_b64encode(self.raw).decode("ascii")

    def describe(self) -> str:
        """`key 1a2b3c4d (from MLC_MASTER_KEY)`: safe to print."""
        return f"key {self.key_id} (from {self.source})"


@dataclass(frozen=True)
class SealedValue:
    """One encrypted value: the sealing key's id, the nonce and the ciphertext with its GCM tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


class Cipher:
    """AES-256-GCM over a key ring: `keys[0]` seals; any key opens values carrying its id."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ValueError("a Cipher needs at least one key")
        self.keys = tuple(keys)
        self.primary = self.keys[0]
        self._by_id = {key.key_id: AESGCM(key.raw) for key in reversed(self.keys)}

    @property
    def key_id(self) -> str:
        """Id of the key new values are sealed with."""
        return self.primary.key_id

    def can_open(self, key_id: str) -> bool:
        """Whether a value sealed with `key_id` can be opened with this ring."""
        return key_id in self._by_id

    def seal(self, name: str, value: str) -> SealedValue:
        """Encrypt `value`, bound to `name` as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._by_id[self.key_id].encrypt(nonce, value.encode("utf-8"), _aad(name))
        return SealedValue(self.key_id, nonce, ciphertext)

    def open(self, name: str, sealed: SealedValue) -> str:
        """Decrypt the value stored under `name`; a clear `SecretError` when it cannot be."""
        aead = self._by_id.get(sealed.key_id)
        if aead is None:
            raise SecretError(
                f"secret {name!r} was encrypted with key {sealed.key_id}, current key is {self.primary.key_id} "
                f"(from {self.primary.source}); set the key it was stored with, or store the secret again"
            )
        try:
            plain = aead.decrypt(sealed.nonce, sealed.ciphertext, _aad(name))
        except InvalidTag:
            raise SecretError(
                f"secret {name!r} failed authentication with key {sealed.key_id}: the stored value was altered "
                f"or moved from another name; store it again with: mlc secrets set {name}"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"secret {name!r} decrypted to bytes that are not UTF-8") from None


def _aad(name: str) -> bytes:
    return _AAD_PREFIX + name.encode("utf-8")


class KeyFile:
    """A master key kept in a file readable by its owner only, plus its rotation companion `<name>.old`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.old_path = path.with_name(path.name + ".old")

    def __repr__(self) -> str:
        return f"KeyFile({str(self.path)!r})"

    def exists(self) -> bool:
        """Whether the key file exists."""
        return self.path.exists()

    def read(self) -> MasterKey:
        """The key in the file, after checking that group and others cannot read it."""
        return _read_key_file(self.path)

    def read_old(self) -> MasterKey | None:
        """The key left by an unfinished rotation, or None."""
        return _read_key_file(self.old_path) if self.old_path.exists() else None

    def create(self) -> MasterKey:
        """A new key written to the (absent) file with mode 0600, in a 0700 directory.

        Written to a temporary file first and linked into place, so a crash never leaves a
        half-written key and two processes racing both end up with the same key.
        """
        key = MasterKey.generate(source=f"key file {self.path}")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = _write_private_temp(self.path, key)
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            return self.read()
        except OSError as exc:
            raise SecretError(f"cannot create key file {self.path}: {exc.strerror}") from None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.path.parent)
        return key

    def stage(self, current: MasterKey, new: MasterKey) -> None:
        """First half of a rotation: keep `current` as `<name>.old`, then install `new`.

        Between `stage` and `finish` a reader's ring holds both keys, so the store opens whether
        or not its re-encrypted version has been committed yet.
        """
        _replace_private(self.old_path, current)
        _replace_private(self.path, new)

    def finish(self) -> None:
        """Second half of a rotation, once the store is re-encrypted: forget the old key."""
        self.old_path.unlink(missing_ok=True)


def _read_key_file(path: Path) -> MasterKey:
    source = f"key file {path}"
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SecretError(f"{source} is not a regular file")
        if os.name == "posix" and st.st_mode & 0o077:
            raise SecretError(
                f"{source} has mode {stat.S_IMODE(st.st_mode):04o}, readable by group or others; "
                f"refusing to use it. Run: chmod 600 {path}"
            )
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SecretError(f"{source} is not a valid master key: not ASCII text; expected {_KEY_FORM}") from None
    except OSError as exc:
        raise SecretError(f"cannot read {source}: {exc.strerror}") from None
    return MasterKey.parse(text, source=source)


def _write_private_temp(target: Path, key: MasterKey) -> Path:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.encoded() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _replace_private(target: Path, key: MasterKey) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = _write_private_temp(target, key)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SecretError(f"cannot write key file {target}: {exc.strerror}") from None
    fsync_dir(target.parent)


@dataclass(frozen=True)
class KeySource:
    """Where the master key lives: the environment variable, or a key file."""

    key_file: KeyFile | None
    """None when the key comes from `MLC_MASTER_KEY`."""
    env_text: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> KeySource:
        """`MLC_MASTER_KEY` when set and non-empty, else the key file (`MLC_KEY_FILE` or the default)."""
        env = os.environ if environ is None else environ
        text = env.get(KEY_ENV, "")
        if text.strip():
            return cls(key_file=None, env_text=text)
        path = Path(env.get(KEY_FILE_ENV) or str(DEFAULT_KEY_FILE)).expanduser()
        return cls(key_file=KeyFile(path))

    @property
    def from_env(self) -> bool:
        """True when the key comes from `MLC_MASTER_KEY`."""
        return self.key_file is None

    def describe(self) -> str:
        """`MLC_MASTER_KEY` or `key file <path>`."""
        return KEY_ENV if self.key_file is None else f"key file {self.key_file.path}"

    def available(self) -> bool:
        """Whether a key exists (without creating one)."""
        return self.key_file is None or self.key_file.exists()

    def keys(self, *, create: bool = False) -> list[MasterKey]:
        """The key ring: the current key first, then the old one of an unfinished rotation.

        With `create`, a missing key file is created; otherwise a missing key is a `SecretError`
        saying how to get one.
        """
        if self.key_file is None:
            return [MasterKey.parse(self.env_text or "", source=KEY_ENV)]
        key_file = self.key_file
        if not key_file.exists():
            if not create:
                raise SecretError(
                    f"no master key: {KEY_ENV} is not set and key file {key_file.path} does not exist; "
                    f"`mlc secrets set NAME` creates the key file, or set {KEY_ENV} "
                    f"(`mlc secrets keygen` prints a key)"
                )
            key_file.create()
        ring = [key_file.read()]
        old = key_file.read_old()
        if old is not None and old.key_id != ring[0].key_id:
            ring.append(old)
        return ring

    def cipher(self, *, create: bool = False) -> Cipher:
        """A `Cipher` over `keys(create=create)`."""
        return Cipher(self.keys(create=create))
