"""How listing commands print rows: `--format table|plain|json`, the same rows three ways.

- `table`: a Rich table for people. Identifier columns (ids, keys, routes, partners, file
  names, mappings, cases) never wrap; free text (errors, details) folds. When the output is
  not a terminal (piped, redirected) the table is laid out `PIPED_WIDTH` columns wide instead
  of Rich's 80, so nothing is squeezed into eight-character columns.
- `plain`: tab-separated, a header line first, one row per line, nothing cut, no colour: for
  `grep`, `cut -f`, `awk` and spreadsheets. Tabs and newlines inside a value become spaces.
- `json`: the rows as a JSON list of objects (the keys are the column names).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

__all__ = ["FORMATS", "IDENTIFIERS", "PIPED_WIDTH", "console", "emit", "format_option", "table"]

FORMATS = ("table", "plain", "json")
PIPED_WIDTH = 240
IDENTIFIERS = frozenset({"id", "job", "route", "key", "partner", "file", "mapping", "case", "state", "at", "updated", "sent", "group", "interchange", "sets", "document", "name"})
"""Columns whose values are identifiers: never wrapped."""


_Command = TypeVar("_Command", bound=Callable[..., Any])


def format_option(default: str = "table") -> Callable[[_Command], _Command]:
    """The `--format table|plain|json` option of a listing command."""
    option: Callable[[_Command], _Command] = click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="table (Rich, for people), plain (tab-separated with a header, for pipes) or json.",
    )
    return option


def console(*, stderr: bool = False) -> Console:
    """A Rich console that lays tables out wide when the output is not a terminal."""
    out = Console(highlight=False, soft_wrap=False, stderr=stderr)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=False, stderr=stderr, width=PIPED_WIDTH)
    return out


def table(title: str, columns: Sequence[str]) -> Table:
    """An empty Rich table with identifier columns kept on one line."""
    shown = Table(title=title)
    for column in columns:
        if column in IDENTIFIERS:
            shown.add_column(column, no_wrap=True, overflow="ignore")
        else:
            shown.add_column(column, overflow="fold")
    return shown


def _plain(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def emit(rows: Iterable[Mapping[str, Any]], output_format: str, title: str, columns: Sequence[str]) -> None:
    """Print `rows` (mappings with at least `columns`) in `output_format`."""
    listed = list(rows)
    if output_format == "json":
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False, default=str))
        return
    if output_format == "plain":
        click.echo("\t".join(columns))
        for row in listed:
            click.echo("\t".join(_plain(row.get(c)) for c in columns))
        return
    shown = table(title, columns)
    for row in listed:
        shown.add_row(*(str(row.get(c, "")) for c in columns))
    console().print(shown)
