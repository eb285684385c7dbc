"""`mlc x12 parse | check | ack`: read any partner's file; `-` reads standard input."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from engine.config import Partner
from engine.config.project import Project, load_project
from engine.errors import MlcError, UsageError
from engine.runtime.setup import open_store
from engine.store import Store
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
    "--control",
    type=int,
    default=None,
    help="First control number (ISA13, GS06 and ST02 count up from it). Default: peeked from the "
    "store's counters of the partner that sent the file (not consumed), else 1.",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    metavar="YYYY-MM-DDTHH:MM",
    help="Date and time written in ISA09/10 and GS04/05 (default: the current local time).",
)
@click.option("--project", help="The project directory (default: $MLC_PROJECT or the current directory).")
@click.option("--database", envvar="MLC_DATABASE_URL", help="State store URL (default: the project's store).")
def ack_command(file: str, control: int | None, now_text: str | None, project: str | None, database: str | None) -> None:
    """Print the 997 acknowledging every functional group of FILE.

    The partner that sent FILE (its ISA sender, looked up in the project) decides the newline
    after each segment; without --control its stored counters give ISA13, GS06 and ST02.
    """
    if control is not None and not 0 < control < 10**9:
        raise UsageError(f"--control {control} is outside 1..999999999")
    try:
        now = datetime.fromisoformat(now_text) if now_text else datetime.now()
    except ValueError:
        raise UsageError(f"--now {now_text!r} is not a date and time like 2024-05-02T10:05") from None
    stream, source = open_source(file)
    context = _AckContext(project, database)
    produced = 0
    try:
        with stream:
            for interchange, groups in ack_module.collect(stream, source):
                partner = context.partner(interchange.sender_qualifier, interchange.sender_id)
                controls, said = context.controls(partner, control)
                newline = bool(partner.data["x12"].get("newline", True)) if partner is not None else True
                text = ack_module.build_997(interchange, groups, controls, now, newline=newline)
                if text is None:
                    continue
                sys.stdout.write(text)
                produced += 1
                click.echo(f"{source}: 997 for interchange {interchange.control_number}: {said}", err=True)
    finally:
        context.close()
    if not produced:
        click.echo(f"{source}: nothing to acknowledge (no functional groups other than 997s)", err=True)


class _AckContext:
    """The project and store `mlc x12 ack` may use: both optional (a file can be acknowledged
    anywhere), opened once, never written to."""

    def __init__(self, project: str | None, database: str | None) -> None:
        self.project: Project | None = None
        self.store: Store | None = None
        self.why = "no project here"
        try:
            root = Path(project or os.environ.get("MLC_PROJECT") or ".").resolve()
            if (root / "connections.yaml").is_file():
                self.project = load_project(root)
                self.why = "no state store yet"
                self.store = open_store(self.project, url=database, create=False)
        except MlcError as exc:
            self.why = exc.message if self.project else f"the project does not load: {exc.message}"

    def partner(self, qualifier: str, ident: str) -> Partner | None:
        if self.project is None:
            return None
        try:
            return self.project.match_partner("x12.sender", f"{qualifier}/{ident}")
        except MlcError:
            return None

    def controls(self, partner: Partner | None, control: int | None) -> tuple[ack_module.SequentialControls, str]:
        if control is not None:
            return ack_module.SequentialControls(control), f"control numbers from --control {control}"
        if partner is not None and self.store is not None:
            starts = self.store.peek_controls(partner.id)
            return (
                ack_module.SequentialControls(1, starts),
                f"ISA13 {starts['isa']}, GS06 {starts['gs']}, ST02 {starts['st']} peeked from the store's counters of "
                f"partner {partner.id} (not consumed; the runtime takes its own)",
            )
        reason = self.why if partner is None and self.project is None else (
            "the sender is no partner of the project" if partner is None else self.why
        )
        return ack_module.SequentialControls(1), f"control numbers start at 1 ({reason}; --control N chooses)"

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


COMMANDS = [x12]
