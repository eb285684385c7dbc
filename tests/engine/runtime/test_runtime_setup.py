"""Opening a runtime (engine.runtime.setup): the project's secrets, settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.project import load_project
from engine.errors import ConfigError, SecretError
from engine.masterkey import KeySource, MasterKey
from engine.runtime import RuntimeSettings
from engine.runtime.setup import project_secrets, runtime_settings
from engine.secrets import JsonFileSecretStore

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_project_secrets_read_values_stored_by_mlc_secrets_set_with_the_master_key(tmp_path: Path) -> None:
    environ = {"MLC_MASTER_KEY": MasterKey.generate().encoded(), "MLC_STATE_DIR": str(tmp_path)}
    JsonFileSecretStore(tmp_path / "secrets.json", KeySource.from_environ(environ).cipher()).set("cleo-password", "pw-0123456")

    resolver = project_secrets(load_project(REPO_ROOT, environ=environ), environ)

    assert resolver("cleo-password") == "pw-0123456"
    assert resolver.mask("login with pw-0123456 failed") == "login with *** failed"


def test_project_secrets_without_a_master_key_fail_only_when_a_secret_is_asked_for(tmp_path: Path) -> None:
    sealed_with = {"MLC_MASTER_KEY": MasterKey.generate().encoded()}
    JsonFileSecretStore(tmp_path / "secrets.json", KeySource.from_environ(sealed_with).cipher()).set("cleo-password", "pw-0123456")
    environ = {"MLC_KEY_FILE": str(tmp_path / "absent.key"), "MLC_STATE_DIR": str(tmp_path)}

    resolver = project_secrets(load_project(REPO_ROOT, environ=environ), environ)

    with pytest.raises(SecretError, match="no master key"):
        resolver("cleo-password")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(None, RuntimeSettings().stale_after_seconds, id="unset-default"),
        pytest.param("", RuntimeSettings().stale_after_seconds, id="empty-default"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(" 2.5 ", 2.5, id="fraction"),
    ],
)
def test_runtime_settings_take_the_stale_cutoff_from_mlc_stale_after(value: str | None, seconds: float) -> None:
    environ = {} if value is None else {"MLC_STALE_AFTER": value}

    assert runtime_settings(environ).stale_after_seconds == seconds


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_runtime_settings_refuse_a_stale_cutoff_that_is_not_seconds(value: str) -> None:
    with pytest.raises(ConfigError, match=f"MLC_STALE_AFTER must be a number of seconds, 0 or more; got '{value}'"):
        runtime_settings({"MLC_STALE_AFTER": value})
