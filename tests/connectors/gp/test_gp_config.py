"""GP connection configuration: the version gate, collected errors, and the plugin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import connectors.gp
from connectors.gp import GpConfig, GpVersion, plugin
from connectors.gp.auth import certificate_hash
from engine.errors import ConfigError

VALID: dict[str, Any] = {
    "base_url": "https://gp.fabrikam.example",
    "company": "TWO",
    "version": "18.5",
    "domain": "FABRIKAM",
    "username": "svc-mlc",
    "password_secret": "gp-password",
}


@pytest.mark.parametrize(
    ("value", "major", "minor"),
    [
        pytest.param("2015", 14, 0, id="2015"),
        pytest.param("2015 R2", 14, 0, id="2015-r2"),
        pytest.param("2016", 16, 0, id="2016"),
        pytest.param("2016 R2", 16, 0, id="2016-r2"),
        pytest.param(2018, 18, 0, id="2018-int"),
        pytest.param("2018 R2", 18, 0, id="2018-r2"),
        pytest.param("18.5", 18, 5, id="18.5"),
        pytest.param(18.7, 18, 7, id="18.7-float"),
        pytest.param("18.00.0627", 18, 0, id="18-build"),
        pytest.param("14.00.0725", 14, 0, id="14-build"),
        pytest.param("16.0", 16, 0, id="16.0"),
        pytest.param("GP 2018", 18, 0, id="gp-prefix"),
        pytest.param("Microsoft Dynamics GP 18.4", 18, 4, id="full-name"),
    ],
)
def test_versions_with_sba_are_accepted(value: Any, major: int, minor: int) -> None:
    version = GpVersion.parse(value)
    assert (version.major, version.minor) == (major, minor)
    assert GpConfig.from_mapping({**VALID, "version": value}).version == version


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("2013", "has no Service Based Architecture", id="2013"),
        pytest.param("2013 R2", "has no Service Based Architecture", id="2013-r2"),
        pytest.param("2010", "has no Service Based Architecture", id="2010"),
        pytest.param("12", "(version 12) has no Service Based Architecture", id="12"),
        pytest.param("12.00.1801", "has no Service Based Architecture", id="12-build"),
        pytest.param(11, "has no Service Based Architecture", id="11-int"),
        pytest.param("10.0", "has no Service Based Architecture", id="10.0"),
        pytest.param("2030", "unknown GP version", id="future-year"),
        pytest.param("19", "unknown GP version", id="19"),
        pytest.param("latest", "unknown GP version", id="word"),
        pytest.param(True, "must be text", id="bool"),
    ],
)
def test_versions_without_sba_are_refused_listing_the_valid_ones(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        GpConfig.from_mapping({**VALID, "version": value})
    assert message in str(caught.value)
    assert "valid: 2015, 2015 R2, 2016, 2016 R2, 2018, 2018 R2, 18.x (e.g. 18.5)" in str(caught.value)


def test_connect_refuses_an_old_version_before_any_request() -> None:
    def resolver(name: str) -> str:
        raise AssertionError("the secret must not even be read")

    with pytest.raises(ConfigError, match="GP 2015"):
        connectors.gp.connect({**VALID, "version": "2013"}, resolver)


def test_every_config_problem_is_reported_at_once() -> None:
    config = {
        "base_url": "gp.fabrikam.example",
        "version": "2010",
        "auth": "kerberos",
        "username": "svc-mlc",
        "password": "written-in-yaml",
        "colour": "blue",
        "page_size": 0,
    }
    with pytest.raises(ConfigError) as caught:
        GpConfig.from_mapping(config)
    text = str(caught.value)
    for expected in (
        "'password' must not be written",
        "unknown keys ['colour']",
        "'company' is required",
        "'password_secret' is required",
        "base_url must be an http(s) URL",
        "(version 11) has no Service Based Architecture",
        "auth 'kerberos' is not valid; valid: ntlm, basic",
        "'page_size' must be a positive number",
    ):
        assert expected in text
    assert "written-in-yaml" not in text


@pytest.mark.parametrize("size", [pytest.param(2.5, id="fraction"), pytest.param(5000, id="above-maximum")])
def test_page_size_is_a_whole_number_within_the_server_maximum(size: float) -> None:
    with pytest.raises(ConfigError, match="'page_size' must be a whole number up to 1000"):
        GpConfig.from_mapping({**VALID, "page_size": size})


def test_ntlm_needs_a_domain() -> None:
    with pytest.raises(ConfigError, match="ntlm needs the Windows domain"):
        GpConfig.from_mapping({**VALID, "domain": ""})


def test_username_may_carry_the_domain() -> None:
    config = GpConfig.from_mapping({**VALID, "domain": None, "username": "FABRIKAM\\svc-mlc"})
    assert (config.domain, config.username, config.account) == ("FABRIKAM", "svc-mlc", "FABRIKAM\\svc-mlc")


def test_company_url_encodes_the_company() -> None:
    config = GpConfig.from_mapping({**VALID, "company": "Fabrikam, Inc.", "base_url": "https://gp:8443/"})
    assert config.company_url == "https://gp:8443/GPService/Tenants(DefaultTenant)/Companies(Fabrikam%2C%20Inc.)"


def test_plugin_offers_the_emulator_and_the_factory() -> None:
    assert plugin.name == "gp"
    assert plugin.title == "Dynamics GP (Service Based Architecture)"
    (spec,) = plugin.emulators
    assert (spec.prefix, spec.title, spec.base_path) == ("gp", "Dynamics GP SBA", "/GPService/Tenants(DefaultTenant)")
    assert plugin.connect is connectors.gp.connect


def test_package_all_is_sorted_and_complete() -> None:
    assert connectors.gp.__all__ == sorted(connectors.gp.__all__)
    for name in connectors.gp.__all__:
        assert hasattr(connectors.gp, name)


def _certificate(hash_name: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "gp.fabrikam.example")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA384() if hash_name == "sha384" else hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_channel_binding_hash_follows_the_certificate_signature(hash_name: str) -> None:
    import hashlib

    der = _certificate(hash_name)
    assert certificate_hash(der) == hashlib.new(hash_name, der).digest()


def test_channel_binding_hash_of_garbage_falls_back_to_sha256() -> None:
    import hashlib

    assert certificate_hash(b"not a certificate") == hashlib.sha256(b"not a certificate").digest()
