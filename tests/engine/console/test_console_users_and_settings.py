"""Console users (argon2 hashes in the store), `mlc console user`, and connections.yaml
`server.console`."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from engine.cli.main import cli
from engine.config.schema import schema
from engine.console import ConsoleSettings, add_user, authenticate, list_users, remove_user
from engine.errors import UsageError
from engine.runtime import Runtime
from engine.store.models import console_users

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_a_user_is_stored_with_an_argon2id_hash_never_the_password(runtime: Runtime) -> None:
    add_user(runtime.store, "ana", "a long passphrase", role="operator", now=runtime.now())
    with runtime.store.reading() as tx:
        row = tx.connection.execute(console_users.select()).one()
    assert row.password_hash.startswith("$argon2id$") and "a long passphrase" not in row.password_hash
    assert authenticate(runtime.store, "ana", "a long passphrase", now=runtime.now()) is not None
    assert authenticate(runtime.store, "ana", "a long passphrasE", now=runtime.now()) is None
    assert authenticate(runtime.store, "nobody", "a long passphrase", now=runtime.now()) is None


def test_adding_a_user_twice_needs_replace_which_sets_the_new_password_and_role(runtime: Runtime) -> None:
    add_user(runtime.store, "ana", "first passphrase", role="viewer", now=runtime.now())
    with pytest.raises(UsageError, match="exists already"):
        add_user(runtime.store, "ana", "second passphrase", role="operator", now=runtime.now())
    add_user(runtime.store, "ana", "second passphrase", role="operator", now=runtime.now(), replace=True)
    user = authenticate(runtime.store, "ana", "second passphrase", now=runtime.now())
    assert user is not None and user.role == "operator" and user.may_act
    assert authenticate(runtime.store, "ana", "first passphrase", now=runtime.now()) is None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        pytest.param("ana", "short", "viewer", "12 to 1024 characters", id="short-password"),
        pytest.param("ana", "a long passphrase", "admin", "unknown role 'admin'; expected one of viewer, operator", id="role"),
        pytest.param("a b", "a long passphrase", "viewer", "invalid user name", id="name"),
    ],
)
def test_bad_users_are_refused_with_what_is_valid(runtime: Runtime, name: str, password: str, role: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        add_user(runtime.store, name, password, role=role, now=runtime.now())
    assert list_users(runtime.store) == []


def test_mlc_console_user_add_list_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    database = f"sqlite:///{tmp_path / 'mlc.db'}"
    base = ["--project", str(REPO_ROOT), "--database", database]
    added = runner.invoke(cli, ["console", "user", "add", "ana", "--role", "operator", "--password-stdin", *base], input="a long passphrase\n")
    assert added.exit_code == 0, added.output
    assert "console user ana (operator) added" in added.output and "a long passphrase" not in added.output
    prompted = runner.invoke(cli, ["console", "user", "add", "vic", "--role", "viewer", *base], input="another passphrase\nanother passphrase\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(cli, ["console", "user", "list", *base])
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [["ana", "operator"], ["vic", "viewer"]]
    short = runner.invoke(cli, ["console", "user", "add", "bob", "--role", "viewer", "--password-stdin", *base], input="short\n")
    assert short.exit_code == 2 and "12 to 1024 characters" in short.output
    assert runner.invoke(cli, ["console", "user", "remove", "ana", *base]).exit_code == 0
    missing = runner.invoke(cli, ["console", "user", "remove", "ana", *base])
    assert missing.exit_code == 1 and "no console user 'ana'" in missing.output


def test_users_removed_are_gone(runtime: Runtime) -> None:
    add_user(runtime.store, "ana", "a long passphrase", role="viewer", now=runtime.now())
    assert remove_user(runtime.store, "ana") and not remove_user(runtime.store, "ana")


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        pytest.param(None, ConsoleSettings(), id="no-server"),
        pytest.param({}, ConsoleSettings(), id="no-console"),
        pytest.param({"console": False}, ConsoleSettings(enabled=False), id="false"),
        pytest.param({"console": {"enabled": False}}, ConsoleSettings(enabled=False), id="enabled-false"),
        pytest.param({"console": {"session_hours": 1, "ack_overdue_hours": 48}}, ConsoleSettings(session_hours=1.0, ack_overdue_hours=48.0), id="tuned"),
    ],
)
def test_console_settings_come_from_connections_yaml_server(server: dict[str, object] | None, expected: ConsoleSettings) -> None:
    assert ConsoleSettings.from_server(server) == expected


@pytest.mark.parametrize("console", [False, {"enabled": False}, {"session_hours": 2}], ids=["false", "enabled", "hours"])
def test_the_connections_schema_takes_the_console_settings(console: object) -> None:
    jsonschema.validate(_connections(console), schema("connections"))


@pytest.mark.parametrize("console", [{"enable": False}, {"session_hours": 0}, "off"], ids=["typo", "zero-hours", "text"])
def test_the_connections_schema_refuses_bad_console_settings(console: object) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_connections(console), schema("connections"))


def _connections(console: object) -> dict[str, object]:
    document = yaml.safe_load((REPO_ROOT / "connections.yaml").read_text(encoding="utf-8"))
    document["state"] = {}
    document["server"] = {"console": console}
    return dict(document)
