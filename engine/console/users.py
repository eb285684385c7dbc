"""The console's users: a name, an argon2id password hash and a role, kept in the state store.

    add_user(store, "ana", "a long passphrase", role="operator")
    user = authenticate(store, "ana", "a long passphrase")    # a User, or None

Hashes are argon2id with argon2-cffi's default parameters (RFC 9106's low-memory profile); a
hash made with older parameters is re-hashed at the next successful login. Passwords are never
stored, logged or shown. Two roles: `viewer` reads every page; `operator` may also replay and
re-apply. Managed with `mlc console user add|remove|list`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update

from engine.errors import UsageError
from engine.store import Store
from engine.store.models import CONSOLE_ROLES, console_users

__all__ = ["MIN_PASSWORD_CHARS", "ROLES", "User", "add_user", "authenticate", "get_user", "list_users", "remove_user"]

ROLES = CONSOLE_ROLES
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
MAX_NAME_CHARS = 64

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist costs the same time as a real check,
    so the answer time does not tell which user names exist. Made at the first login, not at
    import: argon2id takes 64 MiB, which every worker importing the engine would otherwise hold
    at its peak."""
    return _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    """A console user (never with the hash)."""

    name: str
    role: str
    created_at: datetime

    @property
    def may_act(self) -> bool:
        """Whether the user may replay and re-apply (operators)."""
        return self.role == "operator"


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not all(c.isalnum() or c in "._-@" for c in name):
        raise UsageError(f"invalid user name {name[:MAX_NAME_CHARS]!r}: 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' or '@'")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def add_user(store: Store, name: str, password: str, *, role: str, now: datetime, replace: bool = False) -> User:
    """Create the user (or, with `replace`, set a new password and role for an existing one)."""
    name, role = _check_name(name), _check_role(role)
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UsageError(f"the password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    hashed = _hasher.hash(password)
    with store.transaction() as tx:
        exists = tx.connection.execute(select(console_users.c.created_at).where(console_users.c.name == name)).scalar_one_or_none()
        if exists is not None and not replace:
            raise UsageError(f"user {name!r} exists already (use --replace to set a new password or role)")
        if exists is None:
            tx.connection.execute(insert(console_users).values(name=name, password_hash=hashed, role=role, created_at=now, updated_at=now))
            return User(name, role, now)
        tx.connection.execute(update(console_users).where(console_users.c.name == name).values(password_hash=hashed, role=role, updated_at=now))
        return User(name, role, exists)


def remove_user(store: Store, name: str) -> bool:
    """Delete the user; whether there was one."""
    with store.transaction() as tx:
        return tx.connection.execute(delete(console_users).where(console_users.c.name == name)).rowcount > 0


def list_users(store: Store) -> list[User]:
    """Every user, by name."""
    with store.reading() as tx:
        rows = tx.connection.execute(select(console_users.c.name, console_users.c.role, console_users.c.created_at).order_by(console_users.c.name))
        return [User(row.name, row.role, row.created_at) for row in rows]


def get_user(store: Store, name: str) -> User | None:
    """The user named `name` (its current role), or None."""
    with store.reading() as tx:
        row = tx.connection.execute(select(console_users.c.name, console_users.c.role, console_users.c.created_at).where(console_users.c.name == name)).one_or_none()
    return None if row is None else User(row.name, row.role, row.created_at)


def authenticate(store: Store, name: str, password: str, *, now: datetime) -> User | None:
    """The user if `password` is theirs, else None (the same work either way)."""
    if len(password) > MAX_PASSWORD_CHARS or len(name) > MAX_NAME_CHARS:
        return None
    with store.reading() as tx:
        row = tx.connection.execute(select(console_users).where(console_users.c.name == name.strip())).one_or_none()
    try:
        _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        with store.transaction() as tx:
            tx.connection.execute(update(console_users).where(console_users.c.name == row.name).values(password_hash=_hasher.hash(password), updated_at=now))
    return User(row.name, row.role, row.created_at)
