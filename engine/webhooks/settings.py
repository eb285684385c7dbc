"""What the webhook server serves, read from the project: the routes' webhook triggers and
connections.yaml `server:` (see docs/project-format.md).

    server:
      public_url: https://edi.example.com      # BC posts to <public_url>/webhooks/bc
      max_push_bytes: 20971520                 # the largest Cleo push (default 20 MiB; 413 above)
      webhooks:
        bc: {secret: bc-webhook-secret}        # the subscriptions' clientState (a stored secret's name)
        cleo: {secret: cleo-webhook-secret}    # the X-MLC-Secret header of Cleo HTTP-action pushes

- A webhook trigger with a `resource` (`{webhook: {connection: bc, resource: salesInvoices}}`)
  is a Business Central subscription (a `Watch`): notifications on that connection and entity
  set become fetch jobs on every route watching them.
- A webhook trigger without one (`{webhook: {connection: cleo}}`) lets a Cleo HTTP action push
  files to `/webhooks/cleo/<route>`.
- Each connection's calls carry a shared secret, stored encrypted (`mlc secrets set NAME`) and
  named in `server.webhooks.<connection>.secret` (default `<connection>-webhook-secret`). It must
  be 16 to 250 characters (BC keeps at most 250 of a clientState).

With several BC connections taking webhooks, each has its own URL, `/webhooks/bc/<connection>`;
with one, it is `/webhooks/bc`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.config.project import Project
from engine.errors import ConfigError, SecretError

__all__ = [
    "DEFAULT_MAX_PUSH_BYTES",
    "MAX_SECRET_CHARS",
    "MIN_SECRET_CHARS",
    "SECRET_HEADER",
    "Watch",
    "WebhookSettings",
    "default_secret_name",
]

DEFAULT_MAX_PUSH_BYTES = 20 * 1024 * 1024
"""The largest file a Cleo HTTP action may push, unless `server.max_push_bytes` says otherwise."""

SECRET_HEADER = "X-MLC-Secret"
"""The header a Cleo HTTP action sends the shared secret in."""

MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 250
"""BC stores at most 250 characters of a clientState (2018 metadata; the current limit is unconfirmed)."""


def default_secret_name(connection: str) -> str:
    """The secret name used when `server.webhooks.<connection>.secret` is not given."""
    return f"{connection}-webhook-secret"


@dataclass(frozen=True)
class Watch:
    """One BC subscription the service keeps: changes of `entity` on `connection`, for `routes`."""

    connection: str
    entity: str
    routes: tuple[str, ...]


@dataclass(frozen=True)
class WebhookSettings:
    """The service's webhooks (module docstring). Build it with `for_project`."""

    public_url: str | None
    watches: tuple[Watch, ...] = ()
    pushes: Mapping[str, str] = field(default_factory=dict)
    """Route name -> the connection whose secret its pushes carry."""
    secret_names: Mapping[str, str] = field(default_factory=dict)
    """Connection -> secret name, as configured (others use `default_secret_name`)."""
    max_push_bytes: int = DEFAULT_MAX_PUSH_BYTES
    """The largest Cleo push accepted (`server.max_push_bytes`)."""

    @classmethod
    def for_project(cls, project: Project, *, public_url: str | None = None, routes: Iterable[str] | None = None) -> WebhookSettings:
        """The webhooks of the project's routes (all, or `routes`); `public_url` overrides
        `server.public_url`. A subscription trigger on a connection that is not Business
        Central is a ConfigError."""
        server = project.server or {}
        configured = server.get("webhooks") or {}
        secret_names = {str(name): str(entry["secret"]) for name, entry in configured.items() if isinstance(entry, dict) and entry.get("secret")}
        chosen = sorted(routes) if routes is not None else sorted(project.routes)
        watched: dict[tuple[str, str], list[str]] = {}
        pushes: dict[str, str] = {}
        for name in chosen:
            route = project.routes[name]
            for trigger in route.triggers:
                spec = trigger.get("webhook")
                if not isinstance(spec, dict):
                    continue
                connection = str(spec["connection"])
                resource = spec.get("resource")
                if resource:
                    kind = project.connections.get(connection, {}).get("type", connection)
                    if kind != "bc":
                        raise ConfigError(
                            f"route {name}: the webhook trigger on {connection}/{resource} needs a Business Central connection "
                            f"(type bc), not {kind!r}; a trigger without resource takes pushes"
                        )
                    watched.setdefault((connection, str(resource)), []).append(name)
                else:
                    pushes[name] = connection
        given = (public_url or "").strip() or str(server.get("public_url") or "").strip()
        if given and not given.startswith(("http://", "https://")):
            raise ConfigError(f"the public URL must be an http(s) URL such as https://edi.example.com, got {given!r}")
        watches = tuple(Watch(connection, entity, tuple(names)) for (connection, entity), names in sorted(watched.items()))
        limit = server.get("max_push_bytes", DEFAULT_MAX_PUSH_BYTES)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"server.max_push_bytes must be a positive number of bytes, got {limit!r}")
        return cls(given.rstrip("/") or None, watches, pushes, secret_names, limit)

    def with_public_url(self, public_url: str) -> WebhookSettings:
        """These settings with the public URL set (when the configuration gave none)."""
        return WebhookSettings(public_url.rstrip("/"), self.watches, self.pushes, self.secret_names, self.max_push_bytes)

    # -- connections and routes --------------------------------------------------------------

    def bc_connections(self) -> list[str]:
        """The BC connections with subscriptions, sorted."""
        return sorted({watch.connection for watch in self.watches})

    def watches_of(self, connection: str) -> list[Watch]:
        return [watch for watch in self.watches if watch.connection == connection]

    def routes_for(self, connection: str, entity: str) -> tuple[str, ...]:
        """The routes a notification about `entity` on `connection` feeds."""
        for watch in self.watches:
            if watch.connection == connection and watch.entity == entity:
                return watch.routes
        return ()

    def bc_path(self, connection: str) -> str:
        """The path BC posts `connection`'s notifications to."""
        return "/webhooks/bc" if self.bc_connections() == [connection] else f"/webhooks/bc/{connection}"

    def notification_url(self, connection: str) -> str:
        """The notificationUrl of `connection`'s subscriptions."""
        if not self.public_url:
            raise ConfigError("no public URL for webhook subscriptions: give mlc serve --public-url or set server.public_url in connections.yaml")
        return self.public_url + self.bc_path(connection)

    # -- secrets -----------------------------------------------------------------------------

    def secret_name(self, connection: str) -> str:
        """The name of the secret `connection`'s webhook calls carry."""
        return self.secret_names.get(connection) or default_secret_name(connection)

    def used_connections(self) -> list[str]:
        """Every connection whose webhook calls the server checks."""
        return sorted({*self.bc_connections(), *self.pushes.values()})

    def secret(self, connection: str, secrets: Callable[[str], str]) -> str:
        """`connection`'s webhook secret, checked (SecretError naming how to set it)."""
        name = self.secret_name(connection)
        try:
            value = secrets(name)
        except KeyError:
            value = ""
        hint = f"store 16 to {MAX_SECRET_CHARS} random characters with `openssl rand -hex 32 | mlc secrets set {name}`"
        if not value:
            raise SecretError(f"the webhook secret {name!r} of connection {connection!r} is not set: {hint}")
        if not MIN_SECRET_CHARS <= len(value) <= MAX_SECRET_CHARS:
            raise SecretError(f"the webhook secret {name!r} of connection {connection!r} has {len(value)} characters: {hint}")
        return value

    def check_secrets(self, secrets: Callable[[str], str]) -> None:
        """Every secret the server needs resolves and is long enough (SecretError otherwise)."""
        for connection in self.used_connections():
            self.secret(connection, secrets)
