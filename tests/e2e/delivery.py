"""Checks of exactly-once delivery after end-to-end runs: every expected file is in its outbox,
uploaded once and valid X12, and no control number of a partner was used twice.

    problems = delivery_problems(world, expected)   # [] when delivery was exactly once
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping

from world import World

from engine.x12 import document
from engine.x12.reader import Group, Interchange, read_events


def uploads(requests: Iterable[str], world: World, folder: str) -> int:
    """How many uploads (POSTs) the Cleo emulator served into `folder` (`acme/outbox`)."""
    suffix = f"/api/folders/{world.cleo.folder_by_path(folder).id}/files"
    return sum(1 for line in requests if line.startswith("POST ") and line.partition("?")[0].endswith(suffix))


def control_numbers(files: Mapping[str, bytes]) -> tuple[Counter[str], Counter[str]]:
    """How often each ISA13 and each GS06 occurs in the X12 files among `files`."""
    isa13: Counter[str] = Counter()
    gs06: Counter[str] = Counter()
    for name, content in files.items():
        if not name.endswith(".edi"):
            continue
        for event in read_events(io.BytesIO(content), name):
            if isinstance(event, Interchange):
                isa13[event.control_number] += 1
            elif isinstance(event, Group):
                gs06[event.control_number] += 1
    return isa13, gs06


def delivery_problems(world: World, expected: Mapping[str, Iterable[str]]) -> list[str]:
    """What is wrong with the outboxes of the partners in `expected` (partner -> the file names
    that must be there): missing files, files uploaded more often than they are there (a second
    POST of a file, or a refused one), X12 that fails `engine.x12.document.check`, and ISA13 or
    GS06 values used twice by one partner. Empty when delivery was exactly once."""
    requests = list(world.cleo.requests)
    problems: list[str] = []
    for partner, names in sorted(expected.items()):
        files = world.outbox(partner)
        missing = sorted(set(names) - set(files))
        if missing:
            problems.append(f"{partner}: {len(missing)} file(s) missing, e.g. {missing[:5]}")
        posted = uploads(requests, world, f"{partner}/outbox")
        if posted != len(files):
            problems.append(f"{partner}: {posted} uploads for {len(files)} files in the outbox")
        for name, content in sorted(files.items()):
            if name.endswith(".edi"):
                report = document.check(io.BytesIO(content), name)
                if not report.ok:
                    problems.append(f"{partner}: {name} fails the check: {report.errors[0].line(name)}")
        isa13, gs06 = control_numbers(files)
        for label, counts in (("ISA13", isa13), ("GS06", gs06)):
            twice = sorted(number for number, count in counts.items() if count > 1)
            if twice:
                problems.append(f"{partner}: {label} used more than once: {twice[:10]}")
    return problems
