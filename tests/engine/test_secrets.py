"""Encrypted secret store, master key handling and key rotation (engine.secrets, engine.masterkey)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from engine import secrets as secrets_module
from engine.errors import SecretError
from engine.masterkey import Cipher, KeySource, MasterKey
from engine.secrets import (
    JsonFileSecretStore,
    SecretResolver,
    rotate_master_key,
    state_dir,
    validate_name,
)

VALUES = {"bc-client-secret": "s3cr3t-bc-Value!", "cleo.password": "cleo-pa55word-xyz", "gp_domain_pw": "gP#Dom@in42"}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    monkeypatch.delenv("MLC_STATE_DIR", raising=False)
    monkeypatch.setenv("MLC_KEY_FILE", str(tmp_path / "keys" / "master.key"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "master.key"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".mlc" / "secrets.json"


def open_store(store_path: Path, *, create: bool = False) -> JsonFileSecretStore:
    return JsonFileSecretStore(store_path, KeySource.from_environ().cipher(create=create))


def filled_store(store_path: Path) -> JsonFileSecretStore:
    store = open_store(store_path, create=True)
    for name, value in VALUES.items():
        store.set(name, value)
    return store


def assert_no_value(text: str) -> None:
    for value in VALUES.values():
        assert value not in text


def read_doc(store_path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(store_path.read_text())
    return doc


# -- round trip and file format ------------------------------------------------------------------


def test_set_then_get_round_trips_every_value(store_path: Path) -> None:
    store = filled_store(store_path)
    reopened = open_store(store_path)
    assert {name: reopened.get(name) for name in reopened.names()} == VALUES
    assert store.names() == sorted(VALUES)


def test_store_file_holds_no_plaintext_and_is_private(store_path: Path) -> None:
    filled_store(store_path)
    raw = store_path.read_bytes().decode()
    assert_no_value(raw)
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    record = read_doc(store_path)["secrets"]["bc-client-secret"]
    assert set(record) == {"key_id", "nonce", "ciphertext", "updated_at"}
    assert not list(store_path.parent.glob("*.tmp"))


def test_each_value_gets_a_fresh_nonce(store_path: Path) -> None:
    store = open_store(store_path, create=True)
    store.set("a", "same-value")
    first = read_doc(store_path)["secrets"]["a"]
    store.set("a", "same-value")
    second = read_doc(store_path)["secrets"]["a"]
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]


def test_entries_show_name_key_id_and_time_but_no_value(store_path: Path) -> None:
    store = filled_store(store_path)
    entries = JsonFileSecretStore(store_path).entries()  # needs no key
    assert [e.name for e in entries] == sorted(VALUES)
    assert {e.key_id for e in entries} == {store.cipher.key_id if store.cipher else ""}
    assert all(e.updated_at.endswith("Z") for e in entries)
    assert_no_value(repr(entries))


def test_delete_removes_only_that_secret(store_path: Path) -> None:
    store = filled_store(store_path)
    store.delete("cleo.password")
    assert store.names() == ["bc-client-secret", "gp_domain_pw"]
    with pytest.raises(SecretError, match=r"'cleo\.password' is not set"):
        store.delete("cleo.password")


def test_empty_value_is_refused(store_path: Path) -> None:
    with pytest.raises(SecretError, match="empty value"):
        open_store(store_path, create=True).set("x", "")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a b", id="space"),
        pytest.param("", id="empty"),
        pytest.param("x/y", id="slash"),
        pytest.param("é", id="non-ascii"),
        pytest.param("a" * 129, id="too-long"),
    ],
)
def test_invalid_names_are_refused_listing_what_is_valid(name: str) -> None:
    with pytest.raises(SecretError, match=r"letters A-Z a-z, digits 0-9, '_', '\.' and '-'"):
        validate_name(name)


def test_valid_names_pass() -> None:
    for name in ("bc-client-secret", "cleo.password", "GP_domain_pw2"):
        assert validate_name(name) == name


def test_state_dir_defaults_to_project_dot_mlc_and_follows_env(tmp_path: Path) -> None:
    assert state_dir(tmp_path, {}) == tmp_path / ".mlc"
    assert state_dir(tmp_path, {"MLC_STATE_DIR": str(tmp_path / "st")}) == tmp_path / "st"
    assert JsonFileSecretStore.for_project(tmp_path).path.parent == state_dir(tmp_path)


# -- wrong key, tampering, malformed data ------------------------------------------------------


def test_wrong_key_names_both_key_ids_and_no_value(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = filled_store(store_path)
    stored_id = store.cipher.key_id if store.cipher else ""
    other = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", other.encoded())
    wrong = open_store(store_path)
    with pytest.raises(SecretError) as info:
        wrong.get("bc-client-secret")
    message = str(info.value)
    assert f"encrypted with key {stored_id}, current key is {other.key_id}" in message
    assert "MLC_MASTER_KEY" in message
    assert other.encoded() not in message
    assert_no_value(message)


def test_tampered_ciphertext_fails_authentication(store_path: Path) -> None:
    filled_store(store_path)
    doc = read_doc(store_path)
    record = doc["secrets"]["bc-client-secret"]
    record["ciphertext"] = record["ciphertext"][:-4] + ("AAAA" if record["ciphertext"][-4:] != "AAAA" else "BBBB")
    store_path.write_text(json.dumps(doc))
    with pytest.raises(SecretError, match="'bc-client-secret' failed authentication") as info:
        open_store(store_path).get("bc-client-secret")
    assert_no_value(str(info.value))


def test_swapping_two_records_ciphertexts_is_detected(store_path: Path) -> None:
    filled_store(store_path)
    doc = read_doc(store_path)
    a, b = doc["secrets"]["bc-client-secret"], doc["secrets"]["cleo.password"]
    for field in ("nonce", "ciphertext"):
        a[field], b[field] = b[field], a[field]
    store_path.write_text(json.dumps(doc))
    store = open_store(store_path)
    problems = store.check()
    assert [p.name for p in problems] == ["bc-client-secret", "cleo.password"]
    assert all("moved from another name" in p.message for p in problems)
    assert store.get("gp_domain_pw") == VALUES["gp_domain_pw"]


def test_malformed_record_is_a_clear_error(store_path: Path) -> None:
    filled_store(store_path)
    doc = read_doc(store_path)
    doc["secrets"]["bc-client-secret"]["nonce"] = "not base64!!"
    store_path.write_text(json.dumps(doc))
    with pytest.raises(SecretError, match=r"'bc-client-secret' in .*secrets\.json is malformed"):
        open_store(store_path).get("bc-client-secret")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('{"version": 9, "secrets": {}}', id="wrong-version"),
        pytest.param("[]", id="not-an-object"),
    ],
)
def test_unreadable_store_file_names_the_file(store_path: Path, content: str) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_text(content)
    with pytest.raises(SecretError, match=r"secrets file .*secrets\.json is not"):
        JsonFileSecretStore(store_path).names()


# -- master key sources ------------------------------------------------------------------------


def test_key_file_is_created_0600_in_a_0700_directory(store_path: Path, key_path: Path) -> None:
    filled_store(store_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    assert MasterKey.parse(key_path.read_text(), source="test").key_id == KeySource.from_environ().keys()[0].key_id


def test_missing_key_is_not_created_by_readers(store_path: Path, key_path: Path) -> None:
    with pytest.raises(SecretError, match=r"no master key: MLC_MASTER_KEY is not set and key file .* does not exist"):
        open_store(store_path)
    assert not key_path.exists()


def test_key_file_readable_by_others_is_refused(store_path: Path, key_path: Path) -> None:
    filled_store(store_path)
    key_text = key_path.read_text().strip()
    key_path.chmod(0o644)
    with pytest.raises(SecretError, match=r"mode 0644, readable by group or others.*chmod 600") as info:
        open_store(store_path)
    assert key_text not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("tooshort", id="short"),
        pytest.param("!" * 44, id="not-base64"),
        pytest.param(MasterKey.generate().encoded()[:-8], id="truncated"),
        pytest.param("QUJD" * 16, id="48-bytes"),
    ],
)
def test_malformed_env_key_names_the_variable_and_not_the_key(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("MLC_MASTER_KEY", text)
    with pytest.raises(SecretError, match="MLC_MASTER_KEY is not a valid master key") as info:
        KeySource.from_environ().keys()
    assert text not in str(info.value)


def test_malformed_key_file_names_the_file(key_path: Path) -> None:
    key_path.parent.mkdir(mode=0o700)
    key_path.write_text("garbage-not-a-key\n")
    key_path.chmod(0o600)
    with pytest.raises(SecretError, match=r"key file .*master\.key is not a valid master key") as info:
        KeySource.from_environ().keys()
    assert "garbage-not-a-key" not in str(info.value)


def test_env_key_wins_over_key_file(monkeypatch: pytest.MonkeyPatch, store_path: Path) -> None:
    filled_store(store_path)  # creates the key file
    env_key = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", env_key.encoded())
    assert KeySource.from_environ().keys()[0].key_id == env_key.key_id


def test_generated_key_round_trips_through_its_encoding() -> None:
    key = MasterKey.generate()
    text = key.encoded()
    assert len(text) == 44
    assert MasterKey.parse(text + "\n", source="t").raw == key.raw
    assert MasterKey.parse(text.rstrip("="), source="t").raw == key.raw  # padding optional
    assert text not in repr(key)
    assert text not in repr(KeySource(key_file=None, env_text=text))


# -- rotation ------------------------------------------------------------------------------------


def test_rotate_keeps_every_secret_readable_and_retires_the_old_key(
    store_path: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled_store(store_path)
    old_key = KeySource.from_environ().keys()[0]
    result = rotate_master_key(store, KeySource.from_environ())
    assert (result.old_key_id, result.count) == (old_key.key_id, 3)
    assert not key_path.with_name("master.key.old").exists()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    fresh = open_store(store_path)
    assert fresh.cipher is not None and fresh.cipher.key_id == result.new_key_id
    assert {n: fresh.get(n) for n in fresh.names()} == VALUES
    assert {e.key_id for e in fresh.entries()} == {result.new_key_id}
    monkeypatch.setenv("MLC_MASTER_KEY", old_key.encoded())
    assert [p.name for p in open_store(store_path).check()] == sorted(VALUES)


def test_rotate_failing_while_resealing_changes_nothing(
    store_path: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled_store(store_path)
    before_store, before_key = store_path.read_bytes(), key_path.read_bytes()
    real_seal = Cipher.seal
    calls = []

    def failing_seal(self: Cipher, name: str, value: str) -> Any:
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("simulated crash mid-rotation")
        return real_seal(self, name, value)

    monkeypatch.setattr(Cipher, "seal", failing_seal)
    with pytest.raises(RuntimeError):
        rotate_master_key(store, KeySource.from_environ())
    monkeypatch.setattr(Cipher, "seal", real_seal)
    assert store_path.read_bytes() == before_store
    assert key_path.read_bytes() == before_key
    assert not key_path.with_name("master.key.old").exists()
    reopened = open_store(store_path)
    assert {n: reopened.get(n) for n in reopened.names()} == VALUES


def test_rotate_interrupted_before_the_store_is_replaced_stays_readable_and_can_finish(
    store_path: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled_store(store_path)
    old_key = KeySource.from_environ().keys()[0]
    real_replace = os.replace

    def failing_replace(src: Any, dst: Any) -> None:
        if Path(dst) == store_path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(SecretError, match="cannot write secrets file"):
        rotate_master_key(store, KeySource.from_environ())
    monkeypatch.setattr(os, "replace", real_replace)
    # The new key is installed, the old one kept beside it: the store still opens...
    assert key_path.with_name("master.key.old").exists()
    ring = open_store(store_path)
    assert {n: ring.get(n) for n in ring.names()} == VALUES
    assert ring.check() == []
    # ...and with the old key alone.
    monkeypatch.setenv("MLC_MASTER_KEY", old_key.encoded())
    assert open_store(store_path).get("gp_domain_pw") == VALUES["gp_domain_pw"]
    monkeypatch.delenv("MLC_MASTER_KEY")
    # A new rotation finishes the interrupted one first and leaves a single key.
    result = rotate_master_key(open_store(store_path), KeySource.from_environ())
    assert not key_path.with_name("master.key.old").exists()
    assert KeySource.from_environ().keys()[0].key_id == result.new_key_id
    final = open_store(store_path)
    assert {n: final.get(n) for n in final.names()} == VALUES


def test_rotate_with_env_key_announces_before_committing(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_key = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", old_key.encoded())
    store = filled_store(store_path)
    events: list[str] = []
    real_write = JsonFileSecretStore._write

    def recording_write(self: JsonFileSecretStore, records: Any) -> None:
        events.append("commit")
        real_write(self, records)

    monkeypatch.setattr(JsonFileSecretStore, "_write", recording_write)
    announced: list[MasterKey] = []

    def announce(key: MasterKey) -> None:
        events.append("announce")
        announced.append(key)

    result = rotate_master_key(store, KeySource.from_environ(), announce=announce)
    assert events == ["announce", "commit"]
    monkeypatch.setenv("MLC_MASTER_KEY", announced[0].encoded())
    assert result.new_key_id == announced[0].key_id
    assert open_store(store_path).get("cleo.password") == VALUES["cleo.password"]


def test_rotate_with_env_key_commits_nothing_when_the_key_cannot_be_announced(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = MasterKey.generate()
    monkeypatch.setenv("MLC_MASTER_KEY", old_key.encoded())
    store = filled_store(store_path)
    before = store_path.read_bytes()

    def broken_pipe(key: MasterKey) -> None:
        raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        rotate_master_key(store, KeySource.from_environ(), announce=broken_pipe)
    assert store_path.read_bytes() == before
    assert open_store(store_path).get("bc-client-secret") == VALUES["bc-client-secret"]


def test_rotate_refuses_when_a_secret_does_not_decrypt(store_path: Path) -> None:
    store = filled_store(store_path)
    doc = read_doc(store_path)
    doc["secrets"]["cleo.password"]["key_id"] = "00000000"
    store_path.write_text(json.dumps(doc))
    before = store_path.read_bytes()
    with pytest.raises(SecretError, match=r"cannot rotate the key: 1 secret\(s\) .*: cleo\.password"):
        rotate_master_key(store, KeySource.from_environ())
    assert store_path.read_bytes() == before


def test_rotate_refuses_the_current_key_as_new_key(store_path: Path) -> None:
    store = filled_store(store_path)
    current = KeySource.from_environ().keys()[0]
    with pytest.raises(SecretError, match="the new key is the current key"):
        rotate_master_key(store, KeySource.from_environ(), MasterKey(current.raw, "stdin"))


# -- resolver ------------------------------------------------------------------------------------


def test_resolver_returns_values_and_remembers_them_for_masking(store_path: Path) -> None:
    filled_store(store_path)
    resolver = SecretResolver(open_store(store_path))
    assert resolver("bc-client-secret") == VALUES["bc-client-secret"]
    assert resolver.known_values() == (VALUES["bc-client-secret"],)
    text = f"POST /token failed: client_secret={VALUES['bc-client-secret']}"
    assert resolver.mask(text) == "POST /token failed: client_secret=***"
    assert_no_value(repr(resolver))


def test_resolver_reports_a_missing_secret_with_the_command_to_set_it(store_path: Path) -> None:
    resolver = SecretResolver(open_store(store_path, create=True))
    with pytest.raises(SecretError) as info:
        resolver("bc-client-secret")
    assert str(info.value) == "secret 'bc-client-secret' is not set; run: mlc secrets set bc-client-secret"


def test_resolver_sees_a_value_changed_after_it_was_made(store_path: Path) -> None:
    store = filled_store(store_path)
    resolver = SecretResolver(open_store(store_path))
    assert resolver("gp_domain_pw") == VALUES["gp_domain_pw"]
    store.set("gp_domain_pw", "new-gp-password")
    assert resolver("gp_domain_pw") == "new-gp-password"
    assert set(resolver.known_values()) == {VALUES["gp_domain_pw"], "new-gp-password"}


def test_module_exposes_the_store_protocol() -> None:
    store: secrets_module.SecretStore = JsonFileSecretStore(Path("unused.json"))
    assert "unused.json" in repr(store)
