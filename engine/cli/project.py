"""`mlc validate` and `mlc schema`: lint the project, print the file schemas.

`mlc validate [--project DIR] [--format text|json]` prints every finding of the project as
`path:line:col: level CODE message` (paths relative to the project directory, sorted by file
and position) or, with `--format json`, as one JSON list of finding objects (`path`, `line`,
`column`, `level`, `code`, `message`). A summary line goes to stderr. Exit 1 when any finding is
an error, 0 otherwise (warnings alone pass).

`mlc schema KIND` prints the JSON Schema of one file kind (connections, partner, mapping,
overlay, route, case); an unknown kind is a usage error (exit 2) listing the valid ones.

The project directory is `--project`, else the environment variable `MLC_PROJECT`, else the
current directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.config import Finding, schema
from engine.config.project import Project, validate_project
from engine.errors import UsageError

SCHEMA_KINDS = ("connections", "partner", "guide", "mapping", "overlay", "route", "case")

project_option = click.option(
    "--project",
    "project_dir",
    envvar="MLC_PROJECT",
    default=".",
    show_default="$MLC_PROJECT, else the current directory",
    type=click.Path(file_okay=False, dir_okay=True, path_type=Path),
    help="The project directory.",
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(project: Project | None, findings: list[Finding]) -> str:
    """The last line of `mlc validate`: counts of problems, or what the valid project holds."""
    errors = [f for f in findings if f.level == "error"]
    warnings = [f for f in findings if f.level != "error"]
    if errors or project is None:
        files = len({f.location.path for f in errors})
        text = f"{_plural(len(errors), 'error')} in {_plural(files, 'file')}"
        return text + (f" (and {_plural(len(warnings), 'warning')})" if warnings else "")
    text = (
        f"project OK: {_plural(len(project.partners), 'partner')}, {_plural(len(project.mapping_sources), 'mapping')}, "
        f"{_plural(len(project.routes), 'route')}"
    )
    return text + (f" ({_plural(len(warnings), 'warning')})" if warnings else "")


@click.command("validate")
@project_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(project_dir: Path, output_format: str) -> None:
    """Check every project file and cross-file reference; print every problem at once."""
    if not project_dir.is_dir():
        raise UsageError(f"--project {project_dir}: not a directory")
    project, findings = validate_project(project_dir)
    if output_format == "json":
        click.echo(json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            click.echo(finding.line())
    click.echo(summary(project, findings), err=True)
    if project is None:
        sys.exit(1)


@click.command("schema")
@click.argument("kind", metavar="KIND")
def schema_command(kind: str) -> None:
    """Print the JSON Schema of a project file kind: connections, partner, mapping, overlay, route or case."""
    if kind not in SCHEMA_KINDS:
        raise UsageError(f"unknown schema kind {kind!r}; valid kinds: {', '.join(SCHEMA_KINDS)}")
    click.echo(schema.schema_text(kind), nl=False)


COMMANDS = [validate, schema_command]
