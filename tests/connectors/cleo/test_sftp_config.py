"""The `transport: sftp` entry of a cleo connection: validation (every problem at once), host
key pins in their accepted forms, and the plugin's dispatch by transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.cleo import SftpConfig, connect, validate_config
from connectors.cleo.sftp import SftpFileStore
from connectors.cleo.sshd import KeyPair
from connectors.cleo.sshkeys import HostKeyPins, load_private_key, parse_host_key
from engine.errors import AuthenticationError, ConfigError, SecretError

HOST = KeyPair.generate("host")
CLIENT = KeyPair.generate("client")
VALID: dict[str, Any] = {
    "type": "cleo",
    "transport": "sftp",
    "host": "mft.example.com",
    "username": "MLC_PARTNER_01",
    "auth": "key",
    "private_key_secret": "cleo-sftp-key",
    "host_key": HOST.fingerprint,
}


def test_minimal_sftp_config_gets_defaults() -> None:
    config = SftpConfig.from_mapping(VALID)
    assert (config.port, config.root, config.temp_prefix, config.timeout_seconds, config.keepalive_seconds) == (22, "", ".mlc-tmp-", 30.0, 30.0)
    assert config.host_key == (HOST.fingerprint,)
    assert config.address == "MLC_PARTNER_01@mft.example.com:22"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"host": None}, ["host is required"], id="missing-host"),
        pytest.param({"port": 0}, ["port must be an integer from 1 to 65535"], id="port-zero"),
        pytest.param({"port": "22"}, ["port must be an integer"], id="port-string"),
        pytest.param({"auth": "gssapi"}, ["auth must be one of password, key, key+password"], id="wrong-auth"),
        pytest.param({"private_key_secret": None}, ["auth key needs private_key_secret"], id="key-without-secret"),
        pytest.param({"auth": "password"}, ["auth password needs password_secret"], id="password-without-secret"),
        pytest.param({"auth": "key+password"}, ["auth key+password needs password_secret"], id="both-without-password"),
        pytest.param({"password": "hunter2"}, ["never write a password or key in the configuration"], id="inline-password"),
        pytest.param({"host_key": None}, ["pin the server's host key", "never accepted"], id="no-pin"),
        pytest.param({"host_key": "SHA256:tooshort"}, ["neither a SHA256 fingerprint"], id="bad-fingerprint"),
        pytest.param({"host_key": "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"}, ["give the SHA256 one"], id="md5"),
        pytest.param({"host_key": "ssh-ed25519 AAAAnotbase64!"}, ["does not decode"], id="bad-public-key"),
        pytest.param({"root": "../up"}, ["root must be a server path without '..'"], id="root-escapes"),
        pytest.param({"temp_prefix": "a/b"}, ["temp_prefix must be"], id="temp-prefix-slash"),
        pytest.param({"timeout_seconds": 0}, ["timeout_seconds must be a number > 0"], id="zero-timeout"),
        pytest.param({"base_url": "https://x"}, ["unknown keys ['base_url'] for transport sftp"], id="rest-key"),
        pytest.param({"rate_limit": {"requests": 1, "per": 1}}, ["rate_limit paces HTTP requests and the sftp transport sends none"], id="rate-limit"),
        pytest.param(
            {"host": "", "port": 70000, "auth": "x"},
            ["host is required", "port must be", "auth must be one of"],
            id="several-at-once",
        ),
    ],
)
def test_invalid_sftp_configs_list_every_problem(changes: dict[str, Any], expected: list[str]) -> None:
    data = {key: value for key, value in {**VALID, **changes}.items() if value is not None}
    with pytest.raises(ConfigError) as caught:
        validate_config(data)
    for text in expected:
        assert text in str(caught.value)


def test_rest_config_refuses_an_unknown_transport() -> None:
    with pytest.raises(ConfigError, match="transport must be rest here, got 'ftp'"):
        validate_config({"type": "cleo", "transport": "ftp", "base_url": "https://x", "username": "u", "password_secret": "s"})


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(HOST.fingerprint, id="fingerprint"),
        pytest.param(HOST.fingerprint + "=", id="fingerprint-padded"),
        pytest.param(" ".join(HOST.public.split()[:2]), id="public-key"),
        pytest.param(f"[mft.example.com]:2222 {HOST.public}", id="known-hosts-line"),
    ],
)
def test_host_key_forms_all_pin_the_same_fingerprint(value: str) -> None:
    assert parse_host_key(value).fingerprint == HOST.fingerprint


def test_a_host_key_that_is_not_pinned_is_refused_with_both_fingerprints() -> None:
    import paramiko

    pins = HostKeyPins.from_config("mft.example.com", 22, HOST.fingerprint, None)
    other = paramiko.Ed25519Key.from_private_key(__import__("io").StringIO(CLIENT.private))
    with pytest.raises(AuthenticationError, match=r"mft\.example\.com presented host key ssh-ed25519 .*expected .*man-in-the-middle"):
        pins.verify(other)


def test_pinned_public_keys_choose_the_host_key_algorithm() -> None:
    pins = HostKeyPins.from_config("h", 22, " ".join(HOST.public.split()[:2]), None)
    assert pins.key_types(["ssh-ed25519", "rsa-sha2-512", "ecdsa-sha2-nistp256"]) == ["ssh-ed25519"]
    assert HostKeyPins.from_config("h", 22, HOST.fingerprint, None).key_types(["ssh-ed25519"]) is None


def test_a_relative_known_hosts_is_under_the_project(tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text(f"[mft.example.com]:2222 {HOST.public}\n", encoding="ascii")
    entry = {**VALID, "port": 2222, "known_hosts": "known_hosts"}
    del entry["host_key"]
    store = connect(entry, {"cleo-sftp-key": CLIENT.private}.__getitem__, base_dir=tmp_path)
    assert isinstance(store, SftpFileStore)  # the pin was found; nothing is connected yet


def test_private_keys_load_from_openssh_text_and_a_bad_passphrase_is_a_secret_error() -> None:
    assert load_private_key(CLIENT.private, None, secret="k").get_name() == "ssh-ed25519"
    with pytest.raises(SecretError, match="'k' is not a usable private key"):
        load_private_key(CLIENT.private.replace("b3Blbn", "xxxxxx"), None, secret="k")


def test_connect_without_the_stored_key_is_a_secret_error() -> None:
    def missing(name: str) -> str:
        raise SecretError(f"no secret {name!r}")

    with pytest.raises(SecretError, match="cleo-sftp-key"):
        connect(VALID, missing)
