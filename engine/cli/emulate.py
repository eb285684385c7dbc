"""`mlc emulate`: every connector's emulators on one port, with an index at `/`."""

from __future__ import annotations

from typing import Any

import click

from engine import plugins


def build_app(only: tuple[str, ...] | None = None, project: Any = None) -> Any:
    """One ASGI app mounting every installed emulator (or those of the plugins named in
    `only`) under `/<prefix>`; seeded for `project` (an engine.config.Project) when given:
    every partner's Cleo folders exist, sample documents from its golden cases."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    chosen = [plugins.get(name) for name in only] if only else list(plugins.discover().values())
    specs = [spec for plugin in chosen for spec in plugin.emulators]

    async def index(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "emulators": [
                    {"prefix": s.prefix, "title": s.title, "base_url": f"{base}/{s.prefix}{s.base_path}".rstrip("/")}
                    for s in specs
                ]
            }
        )

    routes: list[Any] = [Route("/", index)]
    def app(spec: plugins.EmulatorSpec) -> Any:
        if project is not None and spec.build_for_project is not None:
            return spec.build_for_project(project)
        return spec.build()

    routes += [Mount(f"/{spec.prefix}", app=app(spec)) for spec in specs]
    return Starlette(routes=routes)


@click.command("emulate")
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1 (0 picks a free one).")
def emulate(port: int) -> None:
    """Run the Business Central, Entra, Cleo and GP emulators on one port until interrupted."""
    import uvicorn

    app = build_app()
    click.echo(f"emulators on http://127.0.0.1:{port}/ (index at /); Ctrl-C stops", err=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


COMMANDS = [emulate]
