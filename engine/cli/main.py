"""The `mlc` command line: one click group; each command family lives in its own module.

Exit codes: 0 success, 1 failure or invalid input, 2 usage error. Errors are one line on
stderr; a traceback is shown only with `MLC_DEBUG=1`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from engine.errors import MlcError, UsageError


class MlcGroup(click.Group):
    """A click group that turns engine errors into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            click.echo(f"mlc: usage: {exc}", err=True)
            ctx.exit(2)
        except MlcError as exc:
            if os.environ.get("MLC_DEBUG"):
                raise
            click.echo(f"mlc: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("mlc: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=MlcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ml-connector", prog_name="mlc")
def cli() -> None:
    """ml-connector: X12 EDI between Business Central, Dynamics GP and Cleo Integration Cloud."""


def _register() -> None:
    from engine.cli import console, demo, emulate, init, mapping, project, run, secrets, serve, x12

    for module in (x12, project, mapping, secrets, emulate, demo, run, serve, console, init):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="mlc", standalone_mode=True)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
