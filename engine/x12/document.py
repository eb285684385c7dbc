"""Whole-file operations over the streaming reader: parse to the JSON tree, check, and the
per-transaction results the 997 generator needs.

`walk` streams: each transaction is placed in its loop tree and checked against its
definition as soon as its SE is read, then dropped unless the caller keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from engine.errors import X12EnvelopeError
from engine.x12 import definition as definitions
from engine.x12 import problems as P
from engine.x12.problems import Problem
from engine.x12.reader import Group, Interchange, Transaction, read_events
from engine.x12.structure import ParsedTransaction, parse_transaction

Json = dict[str, Any]


@dataclass
class CheckedTransaction:
    """A transaction as read (envelope) and as parsed (tree and definition problems)."""

    raw: Transaction
    parsed: ParsedTransaction
    notes: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        """Envelope problems, then definition problems, then notes (warnings)."""
        return [*self.raw.problems, *self.parsed.problems, *self.notes]


def _notes(txn: Transaction, definition: definitions.TransactionSetDef | None, refused: str | None) -> list[Problem]:
    group = txn.group
    notes: list[Problem] = []
    if refused is not None:
        notes.append(
            Problem(
                f"{refused}: no definition looked up, checked the envelope only",
                "transaction",
                P.TS_NOT_SUPPORTED,
                position=txn.position,
                segment_id="ST",
            )
        )
    elif definition is None:
        version = group.version or "(no GS08)"
        notes.append(
            Problem(
                f"no definition for transaction set {txn.set_id} in version {version}: checked the envelope only; "
                f"definitions exist for {', '.join(f'{v} {s}' for v, s in definitions.available())}",
                "transaction",
                P.TS_NOT_SUPPORTED,
                position=txn.position,
                segment_id="ST",
                level="warning",
            )
        )
    expected = definition.functional_group if definition is not None else definitions.functional_group_of(txn.set_id)
    if expected and group.functional_id and group.functional_id != expected:
        notes.append(
            Problem(
                f"GS01 is {group.functional_id!r} but transaction set {txn.set_id} belongs in a {expected!r} group",
                "transaction",
                "",
                position=group.position,
                segment_id="GS",
                level="warning",
            )
        )
    return notes


def walk(stream: BinaryIO, source: str, *, keep_segments: bool = True) -> Iterator[CheckedTransaction | Group | Interchange]:
    """The reader's events, with every transaction parsed and checked.

    With `keep_segments` False each transaction's segments are dropped while its tree is built
    (`Transaction.segments` keeps its ST and SE only): for a caller that needs the tree alone,
    so a big set's segment lists and its tree are not held together."""
    for event in read_events(stream, source):
        if isinstance(event, Transaction):
            group = event.group
            refused = definitions.lookup_problem(group.version, event.set_id) if group.version else None
            definition = definitions.load(group.version, event.set_id) if group.version and not refused else None
            parsed = parse_transaction(
                event.segments,
                definition,
                group.interchange.delimiters.component,
                event.position,
                group.version if not refused else "",
                consume=not keep_segments,
            )
            if not keep_segments:
                segments = event.segments
                event.segments = [segments[0], *([segments[-1]] if len(segments) > 1 and segments[-1] else [])]
            yield CheckedTransaction(event, parsed, _notes(event, definition, refused))
        else:
            yield event


def interchange_facts(interchange: Interchange) -> Json:
    """The envelope facts of an interchange, as in the parse tree."""
    return {
        "sender": {"qualifier": interchange.sender_qualifier, "id": interchange.sender_id},
        "receiver": {"qualifier": interchange.receiver_qualifier, "id": interchange.receiver_id},
        "date": interchange.date,
        "time": interchange.time,
        "control_number": interchange.control_number,
        "version": interchange.version,
        "usage": interchange.usage,
        "ack_requested": interchange.ack_requested,
        "delimiters": interchange.delimiters.as_dict(),
        "ta1": [ta1_facts(segment) for _, segment in interchange.ta1],
        "groups": [],
    }


def ta1_facts(segment: list[str]) -> Json:
    """A TA1 interchange acknowledgment as in the parse tree."""
    values = [segment[i] if i < len(segment) else "" for i in range(6)]
    return {
        "control_number": values[1],
        "date": values[2],
        "time": values[3],
        "status": values[4],
        "note_code": values[5],
    }


def group_facts(group: Group) -> Json:
    """The envelope facts of a functional group, as in the parse tree."""
    return {
        "functional_id": group.functional_id,
        "sender": group.sender,
        "receiver": group.receiver,
        "date": group.date,
        "time": group.time,
        "control_number": group.control_number,
        "agency": group.agency,
        "version": group.version,
        "transactions": [],
    }


def transaction_facts(checked: CheckedTransaction) -> Json:
    """One transaction as in the parse tree."""
    parsed = checked.parsed
    return {
        "set": parsed.set_id,
        "control_number": parsed.control_number,
        "definition": parsed.definition.label if parsed.definition else None,
        "body": parsed.tree,
    }


def parse(stream: BinaryIO, source: str, *, strict_envelope: bool = True) -> Json:
    """The whole file as the JSON tree (see engine/x12/schema/parse-tree.schema.json).

    With `strict_envelope`, an envelope error raises X12EnvelopeError (the first error, and how
    many more `mlc x12 check` would list): a file whose envelope is broken must not be
    processed as if it were sound.
    """
    interchanges: list[Json] = []
    current: dict[int, Json] = {}
    errors: list[Problem] = []

    def open_interchange(interchange: Interchange) -> Json:
        key = id(interchange)
        if key not in current:
            current[key] = interchange_facts(interchange)
            interchanges.append(current[key])
        return current[key]

    def open_group(group: Group) -> Json:
        key = id(group)
        if key not in current:
            current[key] = group_facts(group)
            open_interchange(group.interchange)["groups"].append(current[key])
        return current[key]

    for event in walk(stream, source):
        if isinstance(event, CheckedTransaction):
            open_group(event.raw.group)["transactions"].append(transaction_facts(event))
            errors += [p for p in event.raw.problems if p.is_error]
        elif isinstance(event, Group):
            open_group(event)
            errors += [p for p in event.problems if p.is_error]
            current.pop(id(event), None)
        else:
            open_interchange(event)
            errors += [p for p in event.problems if p.is_error]
            current.pop(id(event), None)
    if errors and strict_envelope:
        more = f" (and {len(errors) - 1} more envelope errors; run: mlc x12 check)" if len(errors) > 1 else ""
        first = errors[0]
        raise X12EnvelopeError(
            f"{first.message}{more}", source=source, position=first.position, segment_id=first.segment_id
        )
    return {"source": source, "interchanges": interchanges}


@dataclass
class CheckReport:
    """Every problem of a file, in file order, with counts."""

    source: str
    problems: list[Problem]
    interchanges: int = 0
    groups: int = 0
    transactions: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def check(stream: BinaryIO, source: str) -> CheckReport:
    """Envelope and definition checks over a whole file, streaming."""
    report = CheckReport(source, [])
    for event in walk(stream, source):
        if isinstance(event, CheckedTransaction):
            report.transactions += 1
            report.problems += event.problems
        elif isinstance(event, Group):
            report.groups += 1
            report.problems += event.problems
        else:
            report.interchanges += 1
            report.problems += event.problems
    report.problems.sort(key=lambda p: p.position or 0)
    return report
