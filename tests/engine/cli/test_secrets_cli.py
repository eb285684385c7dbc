"""`mlc secrets`: set/list/check/keygen/rotate-key/delete, exit codes, and no value ever printed."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import secrets as secrets_cli
from engine.cli.main import cli
from engine.masterkey import MasterKey

Run = Callable[..., Result]

VALUES = {"bc-client-secret": "s3cr3t-bc-Value!", "cleo.password": "cleo-pa55word-xyz"}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    monkeypatch.delenv("MLC_STATE_DIR", raising=False)
    monkeypatch.delenv("MLC_DEBUG", raising=False)
    monkeypatch.setenv("MLC_KEY_FILE", str(tmp_path / "keys" / "master.key"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "project").mkdir()


@pytest.fixture
def outputs() -> Iterator[list[str]]:
    """Every stdout and stderr a test produced; checked for secret values after the test."""
    seen: list[str] = []
    yield seen
    for text in seen:
        for value in VALUES.values():
            assert value not in text


@pytest.fixture
def mlc(tmp_path: Path, outputs: list[str]) -> Run:
    project = tmp_path / "project"

    def run(*args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(cli, ["secrets", "--project", str(project), *args], input=input)
        outputs.extend([result.stdout, result.stderr])
        return result

    return run


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "master.key"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".mlc" / "secrets.json"


def fill(mlc: Run) -> None:
    for name, value in VALUES.items():
        result = mlc("set", name, input=value + "\n")
        assert result.exit_code == 0, result.output


def test_set_reads_the_value_from_stdin_and_creates_a_private_key_file(
    mlc: Run, key_path: Path, store_path: Path
) -> None:
    result = mlc("set", "bc-client-secret", input=VALUES["bc-client-secret"] + "\n")
    assert result.exit_code == 0, result.output
    assert "stored secret 'bc-client-secret'" in result.stdout
    assert "created key file" in result.stderr
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert store_path.exists()


def test_set_strips_one_trailing_newline_only(mlc: Run, store_path: Path) -> None:
    from engine.masterkey import KeySource
    from engine.secrets import JsonFileSecretStore

    assert mlc("set", "multi", input="  line one\nline two \r\n").exit_code == 0
    store = JsonFileSecretStore(store_path, KeySource.from_environ().cipher())
    assert store.get("multi") == "  line one\nline two "


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["bc-client-secret", VALUES["bc-client-secret"]], id="positional"),
        pytest.param(["bc-client-secret", "--value", VALUES["bc-client-secret"]], id="option"),
        pytest.param(["bc-client-secret", f"--value={VALUES['bc-client-secret']}"], id="option-equals"),
        pytest.param([f"--value={VALUES['bc-client-secret']}"], id="option-instead-of-name"),
    ],
)
def test_set_refuses_a_value_given_as_an_argument_without_echoing_it(
    mlc: Run, store_path: Path, args: list[str]
) -> None:
    result = mlc("set", *args, input="ignored\n")
    assert result.exit_code == 2
    assert "never from an argument" in result.stderr
    assert not store_path.exists()


@pytest.mark.parametrize(
    "stdin", [pytest.param("", id="empty"), pytest.param("\n", id="newline"), pytest.param("   \n", id="blank")]
)
def test_set_refuses_empty_input(mlc: Run, store_path: Path, key_path: Path, stdin: str) -> None:
    result = mlc("set", "bc-client-secret", input=stdin)
    assert result.exit_code == 1
    assert "no value given for secret 'bc-client-secret'" in result.stderr
    assert not store_path.exists()
    assert not key_path.exists()


def test_set_refuses_an_invalid_name_listing_valid_characters(mlc: Run) -> None:
    result = mlc("set", "bad name!", input="whatever\n")
    assert result.exit_code == 1
    assert "invalid secret name 'bad name!'" in result.stderr
    assert "digits 0-9, '_', '.' and '-'" in result.stderr


def test_set_prompts_hidden_with_confirmation_on_a_terminal(mlc: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets_cli, "_is_terminal", lambda stream: True)
    value = VALUES["cleo.password"]
    result = mlc("set", "cleo.password", input=f"{value}\n{value}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert mlc("check").exit_code == 0


def test_list_prints_names_only(mlc: Run) -> None:
    fill(mlc)
    result = mlc("list")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == sorted(VALUES)


def test_list_json_gives_name_key_id_and_update_time(mlc: Run, key_path: Path) -> None:
    fill(mlc)
    result = mlc("list", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    key_id = MasterKey.parse(key_path.read_text(), source="test").key_id
    assert [set(item) for item in data["secrets"]] == [{"name", "key_id", "updated_at"}] * 2
    assert [(item["name"], item["key_id"]) for item in data["secrets"]] == [(n, key_id) for n in sorted(VALUES)]


def test_list_of_an_empty_store_says_so_on_stderr(mlc: Run) -> None:
    result = mlc("list")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no secrets stored" in result.stderr
    assert json.loads(mlc("list", "--format", "json").stdout) == {"secrets": []}


def test_check_exits_0_when_every_secret_decrypts(mlc: Run) -> None:
    fill(mlc)
    result = mlc("check")
    assert result.exit_code == 0
    assert "all 2 secret(s) decrypt with key" in result.stdout


def test_check_exits_1_naming_each_secret_that_fails(
    mlc: Run, monkeypatch: pytest.MonkeyPatch, store_path: Path
) -> None:
    fill(mlc)
    doc = json.loads(store_path.read_text())
    doc["secrets"]["cleo.password"]["ciphertext"] = doc["secrets"]["bc-client-secret"]["ciphertext"]
    store_path.write_text(json.dumps(doc))
    result = mlc("check")
    assert result.exit_code == 1
    assert "'cleo.password' failed authentication" in result.stderr
    assert "1 of 2 secret(s) do not decrypt" in result.stderr
    data = json.loads(mlc("check", "--format", "json").stdout)
    assert [(s["name"], s["ok"]) for s in data["secrets"]] == [("bc-client-secret", True), ("cleo.password", False)]
    assert data["ok"] is False


def test_check_with_a_wrong_env_key_names_the_key_ids(mlc: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(mlc)
    other = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", other.encoded())
    result = mlc("check")
    assert result.exit_code == 1
    assert f"current key is {other.key_id} (from MLC_MASTER_KEY)" in result.stderr
    assert other.encoded() not in result.output


def test_check_of_an_empty_store_needs_no_key(mlc: Run, key_path: Path) -> None:
    result = mlc("check")
    assert result.exit_code == 0
    assert not key_path.exists()


def test_check_without_any_key_is_a_clear_error(mlc: Run, key_path: Path) -> None:
    fill(mlc)
    key_path.unlink()
    result = mlc("check")
    assert result.exit_code == 1
    assert "no master key: MLC_MASTER_KEY is not set and key file" in result.stderr


def test_a_key_file_readable_by_others_is_refused(mlc: Run, key_path: Path) -> None:
    fill(mlc)
    key_path.chmod(0o644)
    result = mlc("check")
    assert result.exit_code == 1
    assert "readable by group or others" in result.stderr
    assert key_path.read_text().strip() not in result.output


def test_a_malformed_env_key_is_named_and_not_printed(mlc: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_MASTER_KEY", "definitely-not-a-valid-key")
    result = mlc("set", "x", input="value-x\n")
    assert result.exit_code == 1
    assert "MLC_MASTER_KEY is not a valid master key" in result.stderr
    assert "definitely-not-a-valid-key" not in result.output


def test_keygen_output_is_accepted_as_mlc_master_key(mlc: Run, monkeypatch: pytest.MonkeyPatch, key_path: Path) -> None:
    result = mlc("keygen")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert len(key) == 44
    assert mlc("keygen").stdout.strip() != key
    monkeypatch.setenv("MLC_MASTER_KEY", key)
    fill(mlc)
    assert not key_path.exists()
    check = mlc("check")
    assert check.exit_code == 0
    assert MasterKey.parse(key, source="t").key_id in check.stdout


def test_rotate_key_with_a_key_file_keeps_secrets_readable_and_retires_the_old_key(
    mlc: Run, monkeypatch: pytest.MonkeyPatch, key_path: Path
) -> None:
    fill(mlc)
    old = key_path.read_text().strip()
    result = mlc("rotate-key")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the key went to the file, not the terminal
    assert "re-encrypted 2 secret(s)" in result.stderr
    assert key_path.read_text().strip() != old
    assert not key_path.with_name("master.key.old").exists()
    assert mlc("check").exit_code == 0
    monkeypatch.setenv("MLC_MASTER_KEY", old)
    assert mlc("check").exit_code == 1


def test_rotate_key_with_env_key_prints_only_the_new_key(mlc: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    old = MasterKey.generate().encoded()
    monkeypatch.setenv("MLC_MASTER_KEY", old)
    fill(mlc)
    result = mlc("rotate-key")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert MasterKey.parse(new, source="t").key_id in result.stderr
    assert "install the new key as MLC_MASTER_KEY" in result.stderr
    assert mlc("check").exit_code == 1  # the old key no longer opens the store
    monkeypatch.setenv("MLC_MASTER_KEY", new)
    assert mlc("check").exit_code == 0


def test_rotate_key_from_stdin_uses_the_given_key(mlc: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_MASTER_KEY", MasterKey.generate().encoded())
    fill(mlc)
    new = mlc("keygen").stdout
    result = mlc("rotate-key", "--from-stdin", input=new)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    monkeypatch.setenv("MLC_MASTER_KEY", new.strip())
    assert mlc("check").exit_code == 0


def test_rotate_key_from_stdin_refuses_a_malformed_key(mlc: Run, store_path: Path) -> None:
    fill(mlc)
    before = store_path.read_bytes()
    result = mlc("rotate-key", "--from-stdin", input="nope-not-a-key\n")
    assert result.exit_code == 1
    assert "the new key on stdin is not a valid master key" in result.stderr
    assert "nope-not-a-key" not in result.output
    assert store_path.read_bytes() == before


def test_delete_removes_a_secret(mlc: Run) -> None:
    fill(mlc)
    assert mlc("delete", "cleo.password").exit_code == 0
    assert mlc("list").stdout.splitlines() == ["bc-client-secret"]
    missing = mlc("delete", "cleo.password")
    assert missing.exit_code == 1
    assert "'cleo.password' is not set" in missing.stderr


def test_project_option_and_state_dir_env_locate_the_store(
    mlc: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(mlc)
    assert (tmp_path / "project" / ".mlc" / "secrets.json").exists()
    monkeypatch.setenv("MLC_STATE_DIR", str(tmp_path / "elsewhere"))
    assert mlc("list").stdout == ""
    assert mlc("set", "moved", input="moved-value\n").exit_code == 0
    assert (tmp_path / "elsewhere" / "secrets.json").exists()


def test_no_command_output_ever_contains_a_secret_value(
    mlc: Run, monkeypatch: pytest.MonkeyPatch, store_path: Path, key_path: Path, outputs: list[str]
) -> None:
    """Drive every command through success and failure; the `outputs` fixture greps them all."""
    fill(mlc)
    for args in (["list"], ["list", "--format", "json"], ["check"], ["check", "--format", "json"], ["rotate-key"]):
        assert mlc(*args).exit_code == 0
    doc = json.loads(store_path.read_text())
    doc["secrets"]["bc-client-secret"]["nonce"] = doc["secrets"]["cleo.password"]["nonce"]
    store_path.write_text(json.dumps(doc))
    assert mlc("check").exit_code == 1
    assert mlc("check", "--format", "json").exit_code == 1
    assert mlc("rotate-key").exit_code == 1
    monkeypatch.setenv("MLC_MASTER_KEY", MasterKey.generate().encoded())
    assert mlc("check").exit_code == 1
    assert mlc("set", "cleo.password", VALUES["cleo.password"]).exit_code == 2
    assert len(outputs) >= 20
    assert any("cleo.password" in text for text in outputs)  # names do show; values never
