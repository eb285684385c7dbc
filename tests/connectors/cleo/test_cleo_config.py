"""Cleo connection configuration, the `connect` factory and the plugin object."""

from __future__ import annotations

from typing import Any

import pytest

import connectors.cleo
import connectors.cleo.emulator
from connectors.cleo import CleoConfig, CleoFileStore, connect, plugin
from engine.errors import ConfigError, SecretError
from engine.plugins import ConnectorPlugin

VALID = {"type": "cleo", "base_url": "https://acme.cleointegration.com/", "username": "u", "password_secret": "s"}


def test_minimal_config_gets_defaults_and_a_trimmed_base_url() -> None:
    config = CleoConfig.from_mapping(VALID)
    assert config == CleoConfig("https://acme.cleointegration.com", "u", "s", 100, 60.0, 30.0)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"base_url": None}, ["base_url is required"], id="missing-base-url"),
        pytest.param({"base_url": "ftp://x"}, ["must start with http"], id="bad-scheme"),
        pytest.param({"username": ""}, ["username must be a non-empty string"], id="empty-username"),
        pytest.param({"page_size": 0}, ["page_size must be an integer from 1 to 1000"], id="page-size-zero"),
        pytest.param({"page_size": True}, ["page_size"], id="page-size-bool"),
        pytest.param({"token_skew_seconds": -1}, ["token_skew_seconds must be a number >= 0"], id="negative-skew"),
        pytest.param({"timeout_seconds": 0}, ["timeout_seconds must be a number > 0"], id="zero-timeout"),
        pytest.param({"type": "bc"}, ["type must be 'cleo'"], id="wrong-type"),
        pytest.param({"auth": "oauth"}, ["auth must be one of password"], id="wrong-auth"),
        pytest.param({"pagesize": 5}, ["unknown keys ['pagesize']", "valid keys: base_url"], id="typo"),
        pytest.param(
            {"username": None, "password_secret": 3, "page_size": "x"},
            ["username is required", "password_secret must be a non-empty string", "page_size"],
            id="several-at-once",
        ),
    ],
)
def test_invalid_configs_report_every_problem(changes: dict[str, Any], expected: list[str]) -> None:
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        CleoConfig.from_mapping(data)
    for fragment in expected:
        assert fragment in str(caught.value)


def test_a_password_in_the_config_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="password_secret") as caught:
        CleoConfig.from_mapping({**VALID, "password": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value)


def test_connect_resolves_the_password_by_secret_name() -> None:
    asked: list[str] = []

    def secrets(name: str) -> str:
        asked.append(name)
        return "pw"

    with connect(VALID, secrets) as store:
        assert isinstance(store, CleoFileStore)
    assert asked == ["s"]


def test_connect_refuses_an_empty_secret() -> None:
    with pytest.raises(SecretError, match="'s'"):
        connect(VALID, lambda name: "")


def test_plugin_offers_the_emulator_and_the_factory() -> None:
    assert isinstance(plugin, ConnectorPlugin)
    assert (plugin.name, plugin.title, plugin.connect) == ("cleo", "Cleo Integration Cloud", connect)
    (spec,) = plugin.emulators
    assert (spec.prefix, spec.title, spec.base_path) == ("cleo", "Cleo Integration Cloud", "/")
    assert callable(spec.build())


@pytest.mark.parametrize("module", [connectors.cleo, connectors.cleo.emulator])
def test_public_api_is_sorted_and_importable(module: Any) -> None:
    # isort-style order, as ruff (RUF022) keeps it: CONSTANTS, then Classes, then functions.
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in module.__all__:
        assert hasattr(module, name)
