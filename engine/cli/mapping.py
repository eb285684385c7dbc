"""`mlc render` (dry run of one document) and `mlc test` (the golden cases of the mappings)."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from engine.cli import listing
from engine.config.project import Project, load_project
from engine.errors import ConfigError, StoreError, UsageError
from engine.mapping import Controls, dry_run
from engine.mapping.cases import discover, run_case


def project_root(project: str | None) -> Path:
    """`--project`, else $MLC_PROJECT, else the current directory."""
    root = Path(project or os.environ.get("MLC_PROJECT") or ".").resolve()
    if not root.is_dir():
        raise UsageError(f"the project directory {root} does not exist")
    return root


def _read_input(path: str) -> tuple[bytes, str]:
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    file = Path(path)
    try:
        return file.read_bytes(), path
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the input: {exc.strerror}") from None


@click.command("render")
@click.argument("mapping")
@click.option("--input", "input_path", required=True, help="ERP JSON (outbound/json mappings) or X12 (inbound); - for stdin.")
@click.option("--partner", help="The partner id; default: resolved from the document as a route would.")
@click.option("--project", help="The project directory (default: $MLC_PROJECT or the current directory).")
@click.option("--now", "now_text", help="The clock for dates and the envelope, ISO (default: now).")
def render_command(mapping: str, input_path: str, partner: str | None, project: str | None, now_text: str | None) -> None:
    """Dry run: render one document through MAPPING and print the result.

    Nothing is sent, nothing is stored, control numbers are not consumed: the envelope shows
    the partner's next numbers when the project has a state store (peeked), else 1/1/0001.
    """
    root = project_root(project)
    try:
        now = datetime.fromisoformat(now_text) if now_text else datetime.now().replace(microsecond=0)
    except ValueError:
        raise UsageError(f"--now {now_text!r} is not an ISO date-time such as 2024-05-03T09:30") from None
    data, source = _read_input(input_path)
    loaded = load_project(root)
    result = dry_run(loaded, mapping, data, source, partner=partner, now=now)
    peeked = _next_controls(loaded, result.partner) if result.media_type == "application/edi-x12" else None
    if peeked is not None:
        result = dry_run(loaded, mapping, data, source, partner=result.partner, now=now, controls=peeked)
        click.echo(
            f"control numbers the next run would use for {result.partner}: ISA13 {peeked.isa}, GS06 {peeked.gs}, ST02 {peeked.st} (peeked, not consumed)",
            err=True,
        )
    sys.stdout.write(result.output)
    via = f" (partner {result.partner}'s override of {mapping})" if result.overridden else ""
    click.echo(f"rendered {source} through {result.mapping}{via} for partner {result.partner}", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def _next_controls(project: Project, partner: str) -> Controls | None:
    """The partner's next control numbers from the project's state store, or None when no
    store exists yet (nothing has run: the dry run shows 1/1/0001)."""
    from engine.runtime.setup import open_store

    try:
        store = open_store(project, create=False)
    except StoreError:
        return None
    try:
        return Controls(**store.peek_controls(partner))
    finally:
        store.close()


@click.command("test")
@click.argument("mappings", nargs=-1, metavar="[MAPPING | MAPPING/CASE | CASE]...")
@click.option("--update", is_flag=True, help="Rewrite the expected outputs of the cases selected (all when none is named) from the current mappings (review with git diff).")
@click.option("--project", help="The project directory (default: $MLC_PROJECT or the current directory).")
@listing.format_option()
def test_command(mappings: tuple[str, ...], update: bool, project: str | None, output_format: str) -> None:
    """Run the golden cases of the mappings or cases named (all when none is named):
    pass/fail per case, a segment-per-line diff on failure, exit 1 if any failed.
    `--update MAPPING/CASE` rewrites that one case only."""
    root = project_root(project)
    loaded = load_project(root)
    cases = discover(root, list(mappings) or None)
    if not cases:
        raise ConfigError(f"no golden cases under {root / 'mappings'}/*/cases/")
    results = [run_case(loaded, case, update=update) for case in cases]
    failures = [r for r in results if not r.passed]
    rows = [
        {"mapping": r.case.mapping, "case": r.case.name, "result": "pass" if r.passed else "FAIL", "detail": r.detail, "diff": r.diff}
        for r in results
    ]
    if output_format == "table":
        console = listing.console()
        table = listing.table(f"golden cases ({'updated' if update else 'checked'})", ("mapping", "case", "result", "detail"))
        for r in results:
            table.add_row(r.case.mapping, r.case.name, "[green]pass[/]" if r.passed else "[red]FAIL[/]", r.detail)
        console.print(table)
        for failed in failures:
            if failed.diff:
                console.print(f"\n[bold]{failed.case.label}[/]: {failed.detail}")
                console.print(failed.diff, markup=False)
    else:
        listing.emit(rows, output_format, "golden cases", ("mapping", "case", "result", "detail") if output_format == "plain" else tuple(rows[0]))
    summary = f"{len(cases) - len(failures)} of {len(cases)} cases passed"
    click.echo(summary, err=True)
    if failures:
        sys.exit(1)


COMMANDS = [render_command, test_command]
