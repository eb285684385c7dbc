"""`mlc secrets`: store, list, check and re-key the encrypted credentials of a project.

Values are read from stdin (when it is not a terminal) or a hidden prompt with confirmation,
never from an argument; no command prints a value. The key comes from `MLC_MASTER_KEY` or the
key file (see `engine.masterkey`); the store is `secrets.json` in the project's state directory
(`<project>/.mlc`, or `MLC_STATE_DIR`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from engine.errors import SecretError, UsageError
from engine.masterkey import KeySource, MasterKey
from engine.secrets import STORE_FILE, JsonFileSecretStore, rotate_master_key, state_dir, validate_name

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


@dataclass(frozen=True)
class _Options:
    project: Path


def _store_path(ctx: click.Context) -> Path:
    options = ctx.find_object(_Options)
    return state_dir(options.project if options else Path(".")) / STORE_FILE


def _is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is an interactive terminal (a seam for tests)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_value(name: str) -> str:
    stdin = sys.stdin
    if _is_terminal(stdin):
        value: str = click.prompt(f"Value for secret {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = stdin.read()
        if value.endswith("\n"):  # `echo value |` adds one line break; keep everything else as given
            value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value.strip():
        raise SecretError(f"no value given for secret {name!r} (empty or blank input); refusing to store it")
    return value


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group("secrets")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory; the store is <project>/.mlc/secrets.json (or under MLC_STATE_DIR).",
)
@click.pass_context
def secrets(ctx: click.Context, project: Path) -> None:
    """Encrypted credentials: connection YAML names them, this stores them."""
    ctx.obj = _Options(project)


@secrets.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED, metavar="")
@click.pass_context
def set_secret(ctx: click.Context, name: str, extra: tuple[str, ...]) -> None:
    """Store secret NAME, reading the value from stdin or a hidden prompt (never an argument)."""
    if extra or name.startswith("-"):
        # Never echo these: the most likely extra argument is the value itself.
        raise UsageError(
            "`mlc secrets set` takes only NAME; the value is read from stdin or a hidden prompt, "
            "never from an argument or option (nothing was stored)"
        )
    validate_name(name)
    source = KeySource.from_environ()
    created = not source.available()
    store = JsonFileSecretStore(_store_path(ctx))
    value = _read_value(name)
    store.cipher = source.cipher(create=True)
    store.set(name, value)
    if created and source.key_file is not None:
        click.echo(
            f"created key file {source.key_file.path} (mode 0600); back it up: "
            "the stored secrets cannot be read without it",
            err=True,
        )
    click.echo(f"stored secret {name!r} with {store.cipher.primary.describe()} in {store.path}")


@secrets.command("delete")
@click.argument("name")
@click.pass_context
def delete_secret(ctx: click.Context, name: str) -> None:
    """Remove secret NAME from the store."""
    store = JsonFileSecretStore(_store_path(ctx))
    store.delete(name)
    click.echo(f"deleted secret {name!r} from {store.path}")


@secrets.command("list")
@FORMAT_OPTION
@click.pass_context
def list_secrets(ctx: click.Context, fmt: str) -> None:
    """List the stored secret names (never their values)."""
    store = JsonFileSecretStore(_store_path(ctx))
    entries = store.entries()
    if fmt == "json":
        _echo_json({"secrets": [{"name": e.name, "key_id": e.key_id, "updated_at": e.updated_at} for e in entries]})
        return
    if not entries:
        click.echo(f"no secrets stored in {store.path}", err=True)
    for entry in entries:
        click.echo(entry.name)


@secrets.command("check")
@FORMAT_OPTION
@click.pass_context
def check_secrets(ctx: click.Context, fmt: str) -> None:
    """Check that every stored secret decrypts with the current key (exit 1 naming those that fail)."""
    store = JsonFileSecretStore(_store_path(ctx))
    source = KeySource.from_environ()
    names = store.names()
    if not names:
        if fmt == "json":
            _echo_json({"ok": True, "key_id": None, "key_source": source.describe(), "secrets": []})
        else:
            click.echo(f"no secrets stored in {store.path}")
        return
    store.cipher = source.cipher()
    key = store.cipher.primary
    problems = {problem.name: problem.message for problem in store.check()}
    if len(store.cipher.keys) > 1 and source.key_file is not None:
        click.echo(
            f"note: {source.key_file.old_path} exists: a key rotation was interrupted; "
            "run `mlc secrets rotate-key` to finish it",
            err=True,
        )
    if fmt == "json":
        _echo_json(
            {
                "ok": not problems,
                "key_id": key.key_id,
                "key_source": source.describe(),
                "secrets": [{"name": n, "ok": n not in problems, "problem": problems.get(n)} for n in names],
            }
        )
    else:
        for message in problems.values():
            click.echo(f"mlc: {message}", err=True)
    if problems:
        raise SecretError(
            f"{len(problems)} of {len(names)} secret(s) do not decrypt with {key.describe()}: "
            f"{', '.join(sorted(problems))}"
        )
    if fmt == "text":
        click.echo(f"all {len(names)} secret(s) decrypt with {key.describe()}")


@secrets.command("keygen")
def keygen() -> None:
    """Print a new random master key, in the form MLC_MASTER_KEY takes."""
    click.echo(MasterKey.generate().encoded())


@secrets.command("rotate-key")
@click.option("--from-stdin", is_flag=True, help="Read the new key from stdin instead of generating one.")
@click.pass_context
def rotate_key(ctx: click.Context, from_stdin: bool) -> None:
    """Re-encrypt every secret under a new master key, all or nothing.

    With a key file, the new key replaces it (the old one is kept as <file>.old until the store
    is re-encrypted). With MLC_MASTER_KEY, a generated key is printed on stdout before the store
    is re-encrypted: install it as MLC_MASTER_KEY afterwards.
    """
    source = KeySource.from_environ()
    new_key: MasterKey | None = None
    if from_stdin:
        stdin = sys.stdin
        if _is_terminal(stdin):
            text: str = click.prompt("New master key", hide_input=True)
        else:
            text = stdin.read()
        new_key = MasterKey.parse(text, source="the new key on stdin")
    store = JsonFileSecretStore(_store_path(ctx), source.cipher())

    def announce(key: MasterKey) -> None:
        if not from_stdin:
            click.echo(key.encoded())
            sys.stdout.flush()

    result = rotate_master_key(store, source, new_key, announce=announce)
    where = (
        "install the new key as MLC_MASTER_KEY: the store now needs it"
        if source.key_file is None
        else f"new key written to {source.key_file.path}"
    )
    click.echo(
        f"re-encrypted {result.count} secret(s) from key {result.old_key_id} to key {result.new_key_id}; {where}",
        err=True,
    )


COMMANDS: list[click.Command] = [secrets]
