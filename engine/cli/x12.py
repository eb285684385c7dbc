"""`mlc x12 parse | check | ack`: read any partner's file; `-` reads standard input."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from engine.errors import UsageError
from engine.x12 import ack as ack_module
from engine.x12 import document
from engine.x12.reader import open_source


@click.group("x12")
def x12() -> None:
    """Parse, check and acknowledge X12 files."""


@x12.command("parse")
@click.argument("file")
@click.option("--compact", is_flag=True, help="One-line JSON instead of indented.")
@click.option("--lenient", is_flag=True, help="Print the tree even when the envelope has errors.")
def parse_command(file: str, compact: bool, lenient: bool) -> None:
    """Print FILE as the JSON tree: interchanges -> groups -> transactions (loops named
    `<segment>_loop`, segments keyed by element id)."""
    stream, source = open_source(file)
    with stream:
        tree = document.parse(stream, source, strict_envelope=not lenient)
    json.dump(tree, sys.stdout, indent=None if compact else 2, ensure_ascii=False)
    sys.stdout.write("\n")


@x12.command("check")
@click.argument("file")
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. no definition for a set) as errors.")
def check_command(file: str, strict: bool) -> None:
    """Check FILE's envelope and every transaction against its definition.

    Prints one line per problem; exit 0 when valid, 1 otherwise.
    """
    stream, source = open_source(file)
    with stream:
        report = document.check(stream, source)
    for problem in report.problems:
        click.echo(problem.line(source))
    failed = report.errors or (strict and report.problems)
    summary = (
        f"{source}: {report.interchanges} interchange(s), {report.groups} group(s), "
        f"{report.transactions} transaction set(s): "
        + (f"{len(report.errors)} error(s)" if report.errors else "valid")
        + (
            f", {len(report.problems) - len(report.errors)} warning(s)"
            if len(report.problems) > len(report.errors)
            else ""
        )
    )
    click.echo(summary, err=True)
    if failed:
        sys.exit(1)


@x12.command("ack")
@click.argument("file")
@click.option(
    "--control", type=int, required=True, help="First control number (ISA13, GS06 and ST02 count up from it)."
)
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="YYYY-MM-DDTHH:MM",
    help="Date and time written in ISA09/10 and GS04/05 (default: the current local time).",
)
def ack_command(file: str, control: int, now_text: str | None) -> None:
    """Print the 997 acknowledging every functional group of FILE."""
    if not 0 < control < 10**9:
        raise UsageError(f"--control {control} is outside 1..999999999")
    try:
        now = datetime.fromisoformat(now_text) if now_text else datetime.now()
    except ValueError:
        raise UsageError(f"--now {now_text!r} is not a date and time like 2024-05-02T10:05") from None
    stream, source = open_source(file)
    produced = 0
    with stream:
        for text in ack_module.acknowledge(stream, source, ack_module.SequentialControls(control), now):
            sys.stdout.write(text)
            produced += 1
    if not produced:
        click.echo(f"{source}: nothing to acknowledge (no functional groups other than 997s)", err=True)


COMMANDS = [x12]
