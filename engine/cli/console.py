"""`mlc console user add|remove|list`: the operator console's users.

    mlc console user add ana --role operator        # asks for the password twice
    printf '%s\\n' "$PW" | mlc console user add ci --role viewer --password-stdin
    mlc console user add ana --role viewer --replace  # a new password and role
    mlc console user remove ana
    mlc console user list

Users live in the state store (`--database`, as for `mlc jobs`), so every `mlc serve` sharing
that store knows them. Passwords are hashed with argon2id and never printed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from engine.cli.mapping import project_root
from engine.cli.run import database_option, project_option
from engine.config.project import load_project
from engine.console.users import MIN_PASSWORD_CHARS, ROLES, add_user, list_users, remove_user
from engine.errors import MlcError
from engine.runtime.setup import open_store

__all__ = ["COMMANDS"]


@click.group("console")
def console_group() -> None:
    """The operator console (served by `mlc serve` at /console/)."""


@console_group.group("user")
def user_group() -> None:
    """Console users: add, remove, list."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer: reads every page; operator: may also replay and re-apply.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of asking.")
@click.option("--replace", is_flag=True, help="Set a new password and role for an existing user.")
@project_option
@database_option
def add_command(name: str, role: str, password_stdin: bool, replace: bool, project: str | None, database: str | None) -> None:
    """Add user NAME with a password (at least 12 characters)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"password for {name} ({MIN_PASSWORD_CHARS} characters or more)", hide_input=True, confirmation_prompt=True)
    store = open_store(load_project(project_root(project)), url=database)
    try:
        user = add_user(store, name, password, role=role, now=datetime.now(UTC), replace=replace)
    finally:
        store.close()
    click.echo(f"console user {user.name} ({user.role}) {'saved' if replace else 'added'}")


@user_group.command("remove")
@click.argument("name")
@project_option
@database_option
def remove_command(name: str, project: str | None, database: str | None) -> None:
    """Remove user NAME (their sessions end at their next request)."""
    store = open_store(load_project(project_root(project)), url=database, create=False)
    try:
        removed = remove_user(store, name)
    finally:
        store.close()
    if not removed:
        raise MlcError(f"no console user {name!r}")
    click.echo(f"console user {name} removed")


@user_group.command("list")
@project_option
@database_option
def list_command(project: str | None, database: str | None) -> None:
    """List the users and their roles."""
    store = open_store(load_project(project_root(project)), url=database, create=False)
    try:
        users = list_users(store)
    finally:
        store.close()
    if not users:
        click.echo("no console users yet: mlc console user add NAME --role operator", err=True)
        return
    for user in users:
        click.echo(f"{user.name}\t{user.role}\tsince {user.created_at.isoformat(timespec='seconds')}")


COMMANDS = [console_group]


