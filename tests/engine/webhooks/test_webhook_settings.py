"""What the webhook server serves (engine.webhooks.settings) and connections.yaml `server:`."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from webhook_support import CLIENT_STATE, REPO_ROOT, SECRETS

import engine.webhooks
from engine.config.project import Project, validate_project
from engine.errors import ConfigError, SecretError
from engine.webhooks import Watch, WebhookSettings


def test_public_api_is_sorted_and_importable() -> None:
    names = engine.webhooks.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(engine.webhooks, name), name


def test_the_example_project_watches_invoices_and_sales_orders_and_takes_856_pushes(example_project: Project) -> None:
    settings = WebhookSettings.for_project(example_project, public_url="https://edi.example.com/")

    assert settings.watches == (
        Watch("bc", "salesInvoices", ("bc-invoices-to-810",)),
        Watch("bc", "salesOrders", ("bc-sales-orders-to-850",)),
    )
    assert dict(settings.pushes) == {"cleo-856-to-gp": "cleo"}
    assert settings.notification_url("bc") == "https://edi.example.com/webhooks/bc"
    assert settings.routes_for("bc", "salesOrders") == ("bc-sales-orders-to-850",)
    assert settings.routes_for("bc", "customers") == ()
    assert (settings.secret_name("bc"), settings.secret_name("cleo")) == ("bc-webhook-secret", "cleo-webhook-secret")


def test_only_the_chosen_routes_are_served(example_project: Project) -> None:
    settings = WebhookSettings.for_project(example_project, routes=["bc-sales-orders-to-850", "gp-vendors-to-json"])

    assert [w.entity for w in settings.watches] == ["salesOrders"]
    assert dict(settings.pushes) == {}


def test_server_section_gives_the_public_url_and_the_secret_names_and_the_cli_overrides_the_url(example_project: Project) -> None:
    project = dataclasses.replace(example_project, server={"public_url": "https://hooks.example.com", "webhooks": {"bc": {"secret": "bc-hook"}}})

    configured = WebhookSettings.for_project(project)
    overridden = WebhookSettings.for_project(project, public_url="https://other.example.com")

    assert configured.notification_url("bc") == "https://hooks.example.com/webhooks/bc"
    assert overridden.notification_url("bc") == "https://other.example.com/webhooks/bc"
    assert (configured.secret_name("bc"), configured.secret_name("cleo")) == ("bc-hook", "cleo-webhook-secret")


def test_without_a_public_url_subscriptions_cannot_be_made(example_project: Project) -> None:
    settings = WebhookSettings.for_project(example_project)

    with pytest.raises(ConfigError, match="--public-url"):
        settings.notification_url("bc")
    assert settings.with_public_url("http://10.0.0.5:8080/").notification_url("bc") == "http://10.0.0.5:8080/webhooks/bc"


def test_a_public_url_that_is_not_http_is_refused(example_project: Project) -> None:
    with pytest.raises(ConfigError, match="http"):
        WebhookSettings.for_project(example_project, public_url="edi.example.com")


def test_several_bc_connections_each_get_their_own_path(example_project: Project) -> None:
    settings = dataclasses.replace(
        WebhookSettings.for_project(example_project, public_url="https://e.example"),
        watches=(Watch("bc", "salesInvoices", ("a",)), Watch("bc-eu", "salesInvoices", ("b",))),
    )

    assert settings.notification_url("bc") == "https://e.example/webhooks/bc/bc"
    assert settings.notification_url("bc-eu") == "https://e.example/webhooks/bc/bc-eu"


def test_a_subscription_trigger_on_a_connection_that_is_not_business_central_is_a_config_error(example_project: Project) -> None:
    route = example_project.routes["gp-vendors-to-json"]
    changed = dataclasses.replace(route, triggers=[{"webhook": {"connection": "gp", "resource": "vendors"}}])
    project = dataclasses.replace(example_project, routes={**example_project.routes, route.name: changed})

    with pytest.raises(ConfigError, match="needs a Business Central connection"):
        WebhookSettings.for_project(project)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param({}, "is not set: store 16 to 250 random characters with `openssl rand -hex 32 | mlc secrets set bc-webhook-secret`", id="missing"),
        pytest.param({"bc-webhook-secret": ""}, "is not set", id="empty"),
        pytest.param({"bc-webhook-secret": "short-secret"}, "has 12 characters", id="short"),
        pytest.param({"bc-webhook-secret": "x" * 251}, "has 251 characters", id="long"),
    ],
)
def test_a_missing_or_weak_webhook_secret_is_refused_without_showing_it(example_project: Project, stored: dict[str, str], message: str) -> None:
    settings = WebhookSettings.for_project(example_project)
    secrets = {**SECRETS, "cleo-webhook-secret": CLIENT_STATE}
    secrets.pop("bc-webhook-secret")
    secrets.update(stored)

    with pytest.raises(SecretError) as caught:
        settings.check_secrets(secrets.__getitem__)

    assert message in str(caught.value)
    assert "short-secret" not in str(caught.value)


def test_check_secrets_passes_with_both_secrets_set(example_project: Project) -> None:
    WebhookSettings.for_project(example_project).check_secrets(SECRETS.__getitem__)


# -- connections.yaml `server:` ------------------------------------------------------------------


def _project_copy(tmp_path: Path, server: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("partners", "guides", "mappings", "schedules"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    text = (REPO_ROOT / "connections.yaml").read_text(encoding="utf-8")
    (root / "connections.yaml").write_text(text + "\n" + server, encoding="utf-8")
    return root


def test_a_valid_server_section_is_loaded_into_the_project(tmp_path: Path) -> None:
    root = _project_copy(tmp_path, "server:\n  public_url: https://edi.example.com\n  webhooks:\n    bc: {secret: bc-hook}\n")

    project, findings = validate_project(root, environ={})

    assert project is not None, [f.line() for f in findings]
    assert project.server == {"public_url": "https://edi.example.com", "webhooks": {"bc": {"secret": "bc-hook"}}}


@pytest.mark.parametrize(
    ("server", "code", "text", "at"),
    [
        pytest.param("server:\n  webhooks:\n    bcc: {secret: x}\n", "unknown-connection", "server.webhooks names connection 'bcc'", "bcc:", id="unknown-connection"),
        pytest.param("server:\n  public_url: edi.example.com\n", "", "public_url", "edi.example.com", id="url-not-http"),
        pytest.param("server:\n  webhooks:\n    bc: {secret: 'has spaces'}\n", "", "secret", "has spaces", id="secret-name"),
        pytest.param("server:\n  listen: 0.0.0.0\n", "", "listen", "listen:", id="unknown-key"),
    ],
)
def test_mistakes_in_the_server_section_are_findings_at_their_line(tmp_path: Path, server: str, code: str, text: str, at: str) -> None:
    root = _project_copy(tmp_path, server)
    lines = (root / "connections.yaml").read_text(encoding="utf-8").splitlines()

    project, findings = validate_project(root, environ={})

    errors = [f for f in findings if f.level == "error"]
    assert project is None and len(errors) == 1, [f.line() for f in findings]
    [error] = errors
    assert error.location.path == "connections.yaml" and text in error.line()
    assert at in lines[error.location.line - 1]
    if code:
        assert error.code == code
