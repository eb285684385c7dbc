"""`walk(keep_segments=False)`: each set's segments are dropped while its tree is built, and the
tree and problems are those of the ordinary walk (the transaction job needs the tree alone)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from x12_support import group, interchange, transaction

from benchmarks.hl_856 import ship_notice
from engine.x12.document import CheckedTransaction, walk

ROOT = Path(__file__).resolve().parents[3]
CASES = sorted(ROOT.glob("mappings/*/cases/*/input.edi"))
BROKEN = [
    pytest.param(interchange([group([transaction("850", ["BEG*00*SA*PO-1**20240502", "PO1*1*2*EA*12.5**VP*A", "BEG*00*SA*X**20240502", "CTT*1"])])]), id="out-of-order"),
    pytest.param(interchange([group([transaction("850", ["BEG*00*XX*PO-1**20240502", "ZZZ*1", "PO1*1*2*EA*12.5**VP*A"])])]), id="bad-code-unknown-segment"),
    pytest.param("ISA*00*          *00*          *ZZ*A              *ZZ*B              *240521*1015*U*00401*000000001*0*P*>~GS*PO*A*B*20240521*1015*1*X*004010~ST*850*0001~BEG*00*SA*PO-1**20240502~PO1*1*2", id="truncated"),
    pytest.param(ship_notice(3)[0].decode().replace("HL*4*3*I*0", "HL*4*9*I*0"), id="hl-parent-unknown"),
]


def sets(text: bytes, keep_segments: bool) -> list[CheckedTransaction]:
    return [event for event in walk(io.BytesIO(text), "t.edi", keep_segments=keep_segments) if isinstance(event, CheckedTransaction)]


@pytest.mark.parametrize("text", [pytest.param(path.read_bytes(), id=path.parent.name) for path in CASES] + [pytest.param(ship_notice(20)[0], id="856-20-packs"), *BROKEN])
def test_a_walk_that_drops_segments_builds_the_same_trees_and_problems(text: bytes | str) -> None:
    data = text.encode() if isinstance(text, str) else text
    kept, dropped = sets(data, True), sets(data, False)

    assert [c.parsed.tree for c in dropped] == [c.parsed.tree for c in kept]
    assert [c.problems for c in dropped] == [c.problems for c in kept]
    assert [(c.raw.set_id, c.raw.control_number) for c in dropped] == [(c.raw.set_id, c.raw.control_number) for c in kept]
    assert all(len(c.raw.segments) <= 2 for c in dropped), "ST and SE only"
