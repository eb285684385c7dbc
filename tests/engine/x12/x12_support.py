"""Helpers shared by the X12 tests: hand-built X12 text with any delimiters, and shortcuts to
read it.

The texts are built here by string formatting, not by the engine's writer, so reader tests do
not depend on the code they test. Body segments are written with `*` between elements and `>`
between components; `interchange()` translates them to the delimiters asked for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from engine.x12 import document
from engine.x12.document import CheckReport

PO_BODY = ("BEG*00*SA*PO-4711**20240502", "PO1*1*2*EA*12.5**VP*ACME-1", "CTT*1")
"""The smallest valid 004010 850 body (between ST and SE)."""


def isa(
    *,
    element: str = "*",
    component: str = ">",
    version: str = "00401",
    control: int = 1,
    repetition: str = "U",
    sender: str = "SENDER",
    receiver: str = "RECEIVER",
    usage: str = "T",
) -> str:
    """An ISA segment of standard widths, without its terminator."""
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        sender.ljust(15),
        "ZZ",
        receiver.ljust(15),
        "240502",
        "1005",
        repetition,
        version,
        f"{control:09d}",
        "0",
        usage,
        component,
    ]
    return element.join(fields)


def transaction(set_id: str, body: Sequence[str], control: str = "0001") -> list[str]:
    """ST, the body and SE with the right count."""
    return [f"ST*{set_id}*{control}", *body, f"SE*{len(body) + 2}*{control}"]


def group(
    transactions: Sequence[Sequence[str]],
    *,
    functional_id: str = "PO",
    control: int = 1,
    version: str = "004010",
) -> list[str]:
    """GS, the transactions' segments and GE with the right count."""
    segments = [f"GS*{functional_id}*SENDERAPP*RECEIVERAPP*20240502*1005*{control}*X*{version}"]
    for txn in transactions:
        segments.extend(txn)
    segments.append(f"GE*{len(transactions)}*{control}")
    return segments


def interchange(
    groups: Sequence[Sequence[str]],
    *,
    element: str = "*",
    component: str = ">",
    terminator: str = "~",
    after: str = "\n",
    version: str = "00401",
    control: int = 1,
    repetition: str = "U",
) -> str:
    """A whole interchange; `after` is written after each terminator (line breaks or nothing)."""
    segments = [isa(element=element, component=component, version=version, control=control, repetition=repetition)]
    for grp in groups:
        segments.extend(seg.replace("*", element).replace(">", component) for seg in grp)
    segments.append(f"IEA{element}{len(groups)}{element}{control:09d}")
    return "".join(seg + terminator + after for seg in segments)


def purchase_order(body: Sequence[str] = PO_BODY, **options: Any) -> str:
    """One interchange holding one 850 with `body` (the interchange options pass through)."""
    version = options.pop("gs08", "004010")
    return interchange([group([transaction("850", body)], version=version)], **options)


def check_text(text: str | bytes, source: str = "in.edi") -> CheckReport:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return document.check(io.BytesIO(data), source)


def parse_text(text: str | bytes, source: str = "in.edi", *, strict: bool = True) -> dict[str, Any]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return document.parse(io.BytesIO(data), source, strict_envelope=strict)


def lines(report: CheckReport) -> list[str]:
    """The report as `mlc x12 check` prints it."""
    return [problem.line(report.source) for problem in report.problems]


def errors(report: CheckReport) -> list[str]:
    return [problem.line(report.source) for problem in report.errors]


def only_transaction(tree: dict[str, Any]) -> dict[str, Any]:
    """The single transaction of a parse tree of one interchange, one group, one set."""
    (ic,) = tree["interchanges"]
    (grp,) = ic["groups"]
    (txn,) = grp["transactions"]
    result: dict[str, Any] = txn
    return result


def file_segments(path: Any) -> list[list[str]]:
    """The segments of an X12 file as element lists, read with the delimiters its ISA declares
    (a project's golden files may use any), composites rejoined with `>` as the bodies of these
    tests are written."""
    from engine.x12.delimiters import detect
    from engine.x12.tokenizer import tokenize

    data = path.read_bytes()
    component = detect(data.decode("utf-8"))[0].component
    segments = []
    for _, elements in tokenize(io.BytesIO(data), str(path)):
        if elements[0] != "ISA" and component != ">":
            elements = [">".join(value.split(component)) for value in elements]
        segments.append(list(elements))
    return segments
