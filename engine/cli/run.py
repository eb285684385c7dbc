"""`mlc run`, `mlc jobs`, `mlc audit`, `mlc replay`: operating the runtime from the shell.

    mlc run --once [--route R]...     poll the routes once, work every due job, print a summary
    mlc jobs [--state S] [--route R] [--unacknowledged]   (--state review: with the held differences)
    mlc audit KEY                     the whole trail of a document number, file name or job id
    mlc replay JOB [--preview]        the difference to the stored output, then the re-run

Every command takes `--project` (default `$MLC_PROJECT`, else the current directory) and
`--database` (default `$MLC_DATABASE_URL`, connections.yaml `state.database_url`, else the
SQLite file in the project's state directory).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from engine.cli import listing
from engine.cli.mapping import project_root
from engine.config.project import load_project
from engine.errors import ConfigError, MlcError, UsageError
from engine.runtime.setup import open_runtime, open_store
from engine.store import Acknowledgment, Job, JobState

project_option = click.option("--project", help="The project directory (default: $MLC_PROJECT or the current directory).")
database_option = click.option(
    "--database", envvar="MLC_DATABASE_URL", help="State store URL (default: connections.yaml state.database_url, else SQLite in the state directory)."
)


def _console() -> Console:
    return listing.console()


def run_table(summary: dict[str, Any], title: str) -> tuple[Table, int]:
    """The per-route summary of `Runtime.run_once` as a table, and how many jobs died."""
    polls = summary["polls"]
    outcomes = summary["work"].outcomes
    table = Table(title=title)
    for column in ("route", "documents in", "skipped", "done", "review", "failed (retry)", "dead"):
        table.add_column(column, justify="right" if column != "route" else "left", no_wrap=column == "route")
    dead_total = 0
    names = sorted(set(polls) | {o.job.route for o in outcomes})
    for name in names:
        poll = polls.get(name)
        mine = [o for o in outcomes if o.job.route == name]
        dead = sum(1 for o in mine if o.state is JobState.DEAD)
        dead_total += dead
        table.add_row(
            name,
            str(poll.enqueued if poll else 0),
            str(poll.skipped if poll else 0),
            str(sum(1 for o in mine if o.state is JobState.DONE)),
            str(sum(1 for o in mine if o.state is JobState.REVIEW)),
            str(sum(1 for o in mine if o.state is JobState.FAILED)),
            f"[red]{dead}[/]" if dead else "0",
        )
    return table, dead_total


@click.command("run")
@click.option("--once", is_flag=True, help="Poll once, work every due job, then stop (otherwise run on the routes' schedules).")
@click.option("--route", "routes", multiple=True, help="Only this route (repeatable); default: every route.")
@click.option("--worker-id", help="The name this worker claims jobs under (default host:pid).")
@project_option
@database_option
def run_command(once: bool, routes: tuple[str, ...], worker_id: str | None, project: str | None, database: str | None) -> None:
    """Run the routes: poll their sources and work the jobs (exit 1 if a job was dead-lettered or a poll, or one partner's folder, failed)."""
    root = project_root(project)
    if not once:
        from engine.cli.serve import run_scheduled

        run_scheduled(root, routes=routes or None, database=database, worker_id=worker_id, webhooks=False)
        return
    console = _console()
    with open_runtime(root, database=database, worker_id=worker_id) as runtime:
        for name in routes:
            try:
                runtime.route(name)  # unknown names fail before anything runs
            except ConfigError as exc:
                raise UsageError(exc.message) from None
        with console.status("polling and working the routes...") as status:
            runtime.progress = file_progress(status.update, None if console.is_terminal else lambda line: click.echo(line, err=True))
            summary = runtime.run_once(routes or None)
        table, dead = run_table(summary, f"mlc run --once ({runtime.store.url})")
    console.print(table)
    for outcome in summary["work"].outcomes:
        if outcome.state is JobState.REVIEW:  # not a failure: waits for a person (mlc jobs --state review)
            click.echo(f"review: job {outcome.job.id} {outcome.job.route} {outcome.job.key}: {outcome.detail}")
    problems = run_problems(summary)
    for line in problems:
        click.echo(line, err=True)
    if dead or problems:
        sys.exit(1)


def file_progress(
    show: Callable[[str], None], log: Callable[[str], None] | None = None, *, steps: int = 10, big: int = 100
) -> Callable[[Job, int, int], None]:
    """The `Runtime.progress` of `mlc run --once`: a big inbound file's transactions done /
    total shown live (`show`, the status line), and, when the output is not a terminal, a
    line at the start, every tenth and the end (`log`) for files of at least `big` sets."""
    logged: dict[int, int] = {}

    def report(job: Job, done: int, total: int) -> None:
        name = str((job.payload or {}).get("name") or job.key)
        line = f"{job.route}: {name}: {done}/{total} transaction set(s) done"
        show(line)
        if log is None or total < big:
            return
        step = done * steps // total
        if logged.get(job.id) != step:
            logged[job.id] = step
            log(f"progress: {line}")

    return report


def run_problems(summary: dict[str, Any]) -> list[str]:
    """The lines `mlc run --once` prints on stderr: dead jobs, failed polls, and partners whose
    folder a poll could not read (the other partners were polled)."""
    lines = [
        f"dead: job {outcome.job.id} {outcome.job.route} {outcome.job.key}: {outcome.detail}"
        for outcome in summary["work"].outcomes
        if outcome.state is JobState.DEAD
    ]
    lines += [f"poll failed: {name}: {error}" for name, error in summary.get("poll_errors", {}).items()]
    for name, failures in summary.get("partner_errors", {}).items():
        lines += [f"poll failed: {name}: partner {partner}: {error}" for partner, error in failures.items()]
    return lines


@click.command("jobs")
@click.option("--state", type=click.Choice([s.value for s in JobState]), help="Only jobs in this state.")
@click.option("--route", help="Only jobs of this route.")
@click.option("--limit", default=50, show_default=True)
@click.option("--unacknowledged", is_flag=True, help="Outbound groups with no 997 after the deadline (--hours).")
@click.option("--hours", type=float, default=24.0, show_default=True, help="With --unacknowledged: how long a 997 may take.")
@listing.format_option()
@project_option
@database_option
def jobs_command(
    state: str | None, route: str | None, limit: int, unacknowledged: bool, hours: float, output_format: str, project: str | None, database: str | None
) -> None:
    """List jobs (newest first) with their state and last error; or overdue 997s."""
    root = project_root(project)
    store = open_store(load_project(root), url=database, create=False)
    try:
        if unacknowledged:
            from datetime import UTC, datetime

            groups = store.unacknowledged(datetime.now(UTC) - timedelta(hours=hours))
            rows = [
                {"partner": g.partner, "group": g.group_control, "sets": ",".join(g.set_ids), "interchange": g.interchange_control, "file": g.filename, "sent": g.sent_at.isoformat(timespec="seconds")}
                for g in groups
            ]
            _emit(rows, output_format, f"outbound groups without a 997 after {hours:g} h", ("partner", "group", "sets", "interchange", "file", "sent"))
            return
        found = store.jobs(state=state, route=route, limit=limit)
        rows = [
            {"id": j.id, "route": j.route, "key": j.key, "partner": j.partner or "", "state": j.state.value, "attempts": j.attempts, "updated": j.updated_at.isoformat(timespec="seconds"), "error": j.last_error or ""}
            for j in found
        ]
        counts = store.job_counts(route)
        held = {j.id: store.acknowledgments(j.id, state="review") for j in found if j.state is JobState.REVIEW}
    finally:
        store.close()
    if output_format == "json":
        for row in rows:
            if row["id"] in held:
                row["differences"] = [_held_json(ack) for ack in held[row["id"]]]
    _emit(rows, output_format, "jobs (" + ", ".join(f"{s.value} {n}" for s, n in counts.items() if n) + ")", ("id", "route", "key", "partner", "state", "attempts", "updated", "error"))
    if output_format == "table" and any(held.values()):
        _differences_table([ack for acks in held.values() for ack in acks])


def _held_json(ack: Acknowledgment) -> dict[str, Any]:
    return {
        "document": ack.document,
        "acknowledgment": ack.ack_type,
        "lines": [
            {
                "line": line.line_number, "item": line.item, "status": f"{line.status} ({line.status_code})", "held": list(line.held),
                "ours": {"quantity": line.ours_quantity, "price": line.ours_price, "date": line.ours_date},
                "theirs": {"quantity": line.theirs_quantity, "price": line.theirs_price, "date": line.theirs_date},
            }
            for line in ack.lines
        ],
    }


def _differences_table(acks: list[Acknowledgment]) -> None:
    """Every line of the acknowledgments in review: ours next to the partner's, what is held."""
    table = Table(title="acknowledgments held for review: our order next to the partner's (held: what the ERP refuses until the order is reopened)")
    for column in ("job", "document", "line", "item", "status", "quantity ours/theirs", "price ours/theirs", "date ours/theirs", "applied", "held"):
        table.add_column(column, overflow="fold")

    def pair(ours: Any, theirs: Any) -> str:
        shown = "-" if ours is None else f"{ours:g}" if isinstance(ours, float) else str(ours)
        if theirs is None or theirs == ours:
            return shown
        return f"{shown} -> {theirs:g}" if isinstance(theirs, float) else f"{shown} -> {theirs}"

    for ack in acks:
        for line in ack.lines:
            table.add_row(
                str(ack.job_id or ""), ack.document, line.line_number, line.item, f"{line.status} ({line.status_code})",
                pair(line.ours_quantity, line.theirs_quantity), pair(line.ours_price, line.theirs_price), pair(line.ours_date, line.theirs_date),
                ", ".join(line.applied) or "-", ", ".join(line.held) or "-",
            )
    _console().print(table)


def _emit(rows: list[dict[str, Any]], output_format: str, title: str, columns: tuple[str, ...]) -> None:
    listing.emit(rows, output_format, title, columns)


@click.command("audit")
@click.argument("key")
@listing.format_option()
@project_option
@database_option
def audit_command(key: str, output_format: str, project: str | None, database: str | None) -> None:
    """The whole trail of KEY: a document number, a file name or a job id (exit 1 when none)."""
    root = project_root(project)
    store = open_store(load_project(root), url=database, create=False)
    try:
        events = store.audit_trail(key)
        jobs = store.find_jobs(key)
        held = [ack for j in jobs if j.state is JobState.REVIEW for ack in store.acknowledgments(j.id, state="review")]
    finally:
        store.close()
    if not events and not jobs:
        raise MlcError(f"nothing in the audit trail for {key!r} (a document number, file name or job id)")
    rows = [
        {
            "at": e.at.isoformat(timespec="milliseconds"),
            "job": e.job_id or "",
            "route": e.route or "",
            "key": e.key or "",
            "event": e.event,
            "status": e.status or "",
            "ms": "" if e.duration_ms is None else f"{e.duration_ms:.1f}",
            "detail": _detail(e.detail),
        }
        for e in events
    ]
    title = f"audit trail of {key}: " + "; ".join(f"job {j.id} {j.route} {j.state.value}" for j in jobs)
    _emit(rows, output_format, title, ("at", "job", "route", "key", "event", "status", "ms", "detail"))
    if output_format == "table" and held:
        _differences_table(held)


def _detail(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    message = detail.get("message")
    rest = {k: v for k, v in detail.items() if k != "message"}
    text = json.dumps(rest, ensure_ascii=False, separators=(",", ":")) if rest else ""
    return f"{message} {text}".strip() if message else text


@click.command("replay")
@click.argument("job_id", type=int)
@click.option("--preview", is_flag=True, help="Only show what today's mapping would produce and the difference.")
@click.option("--yes", is_flag=True, help="Do not ask before re-running.")
@project_option
@database_option
def replay_command(job_id: int, preview: bool, yes: bool, project: str | None, database: str | None) -> None:
    """Re-run JOB from its stored input with today's mapping, after showing the difference."""
    from engine.runtime.replay import preview as make_preview
    from engine.runtime.replay import replay

    root = project_root(project)
    with open_runtime(root, database=database) as runtime:
        shown = make_preview(runtime, job_id)
        job = shown.job
        click.echo(f"job {job.id}: {job.route} {job.key} ({job.state.value}, {job.attempts} attempt(s)){': ' + job.last_error if job.last_error else ''}")
        if shown.error:
            click.echo(f"today's mapping fails on the stored input: {shown.error}")
        elif shown.diff:
            click.echo("difference to the stored output (stored -> now; control numbers are peeked, the run takes new ones):")
            click.echo(shown.diff)
        else:
            click.echo("today's mapping renders the same output as stored")
        if preview:
            return
        if not yes and sys.stdin.isatty() and not click.confirm("re-run it now?", default=True):
            return
        outcome = replay(runtime, job_id)
    click.echo(f"job {job_id}: {outcome.state.value}{': ' + outcome.detail if outcome.detail else ''}")
    if outcome.state is not JobState.DONE:
        sys.exit(1)


COMMANDS = [run_command, jobs_command, audit_command, replay_command]

__all__ = ["COMMANDS", "file_progress", "run_problems", "run_table"]
