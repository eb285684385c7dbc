"""Checks on the X12 transaction-set definitions under engine/x12/definitions (YAML data).

The loader (`engine.x12.definition`) already refuses unknown elements, composites and segments;
these tests pin the shape of the data itself: every set loads, loops begin with their trigger,
element lengths are sane, code lists are complete where the engine relies on them, and every
segment real partner files (the shared corpus) put in a set is part of that set's structure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml

from engine.x12 import definition
from engine.x12.definition import CompositeDef, ElementDef, LoopDef, SegmentUse, TransactionSetDef

VERSION = "004010"
EXPECTED_SETS = {"850": "PO", "810": "IN", "855": "PR", "856": "SH", "997": "FA"}

# Segments seen in corpus files that are not part of the standard 004010 structure of their set,
# keyed by set id, each with the reason. Such segments are deliberately NOT added to the set.
# Every segment the corpus currently uses is part of its set's 004010 structure (IT8, for one,
# is the PO1 loop's "Conditions of Sale" segment in the 004010 850), so the table is empty.
CORPUS_EXCEPTIONS: dict[str, dict[str, str]] = {}

CORPUS_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{version}-{set_id}" for version, set_id in pairs]


AVAILABLE = definition.available()


def _loops(loop: LoopDef) -> Iterator[LoopDef]:
    yield loop
    for node in loop.body:
        if isinstance(node, LoopDef):
            yield from _loops(node)


def _find_loop(tset: TransactionSetDef, loop_id: str) -> LoopDef:
    for loop in _loops(tset.body):
        if loop.id == loop_id:
            return loop
    raise AssertionError(f"{tset.label}: no loop {loop_id}")


def _load(set_id: str) -> TransactionSetDef:
    tset = definition.load(VERSION, set_id)
    assert tset is not None, f"{VERSION} {set_id} is not defined"
    return tset


def _raw(name: str) -> dict:
    text = resources.files("engine.x12.definitions").joinpath(VERSION, name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


# --------------------------------------------------------------------------- availability and loading


@pytest.mark.parametrize("set_id", sorted(EXPECTED_SETS))
def test_expected_set_is_available(set_id: str) -> None:
    assert (VERSION, set_id) in AVAILABLE


@pytest.mark.parametrize(("version", "set_id"), AVAILABLE, ids=_ids(AVAILABLE))
def test_definition_loads(version: str, set_id: str) -> None:
    tset = definition.load(version, set_id)
    assert tset is not None
    assert tset.id == set_id
    assert tset.version == version
    assert tset.name
    assert tset.body.body, "empty structure"
    if set_id in EXPECTED_SETS:
        assert tset.functional_group == EXPECTED_SETS[set_id]


def test_gs08_suffix_reads_against_base_version() -> None:
    suffixed = definition.load("004010VICS", "850")
    assert suffixed is not None
    assert suffixed.version == VERSION
    assert suffixed.body == _load("850").body


@pytest.mark.parametrize(("version", "set_id"), AVAILABLE, ids=_ids(AVAILABLE))
def test_loops_begin_with_their_trigger_and_ids_are_unique_per_parent(version: str, set_id: str) -> None:
    tset = definition.load(version, set_id)
    assert tset is not None
    for loop in _loops(tset.body):
        if loop is not tset.body:
            first = loop.body[0]
            assert isinstance(first, SegmentUse), f"{tset.label} loop {loop.id} does not begin with a segment"
            assert first.id == loop.id, f"{tset.label} loop {loop.id} begins with {first.id}"
            assert first.usage == "M", f"{tset.label} loop {loop.id}: its trigger must be mandatory"
        child_ids = [node.id for node in loop.body if isinstance(node, LoopDef)]
        repeated = sorted({i for i in child_ids if child_ids.count(i) > 1})
        assert not repeated, f"{tset.label} loop {loop.id} holds loops {repeated} more than once"


@pytest.mark.parametrize(("version", "set_id"), AVAILABLE, ids=_ids(AVAILABLE))
def test_usage_values(version: str, set_id: str) -> None:
    tset = definition.load(version, set_id)
    assert tset is not None
    for node in tset.body.walk():
        assert node.usage in {"M", "O"}, f"{tset.label} {node.id}: usage {node.usage!r}"


def test_856_hl_loop_is_hierarchical() -> None:
    tset = _load("856")
    hl = _find_loop(tset, "HL")
    assert hl.hierarchical
    assert hl.usage == "M"
    others = [loop.id for loop in _loops(tset.body) if loop.hierarchical and loop is not hl]
    assert not others


# --------------------------------------------------------------------------- dictionaries


def _element_defs() -> Iterator[tuple[str, ElementDef]]:
    for seg_id, seg in definition.segment_dictionary(VERSION).items():
        for position, element in enumerate(seg.elements, start=1):
            where = f"{seg_id}{position:02d}"
            if isinstance(element, CompositeDef):
                for n, component in enumerate(element.components, start=1):
                    yield f"{where}-{n}", component
            else:
                yield where, element


def test_every_referenced_element_exists_with_sane_lengths() -> None:
    elements = {str(k): v for k, v in _raw("elements.yaml").items()}
    composites = _raw("composites.yaml")
    referenced: set[str] = set()
    for seg in _raw("segments.yaml").values():
        for spec in seg["elements"]:
            if "composite" in spec:
                assert spec["composite"] in composites
            else:
                referenced.add(str(spec["de"]))
    for comp in composites.values():
        referenced |= {str(spec["de"]) for spec in comp["components"]}
    missing = sorted(referenced - set(elements), key=int)
    assert not missing, f"elements used but not defined: {missing}"
    for ref, entry in elements.items():
        assert entry["type"] in definition.ELEMENT_TYPES, ref
        assert 1 <= entry["min"] <= entry["max"], ref
        assert entry.get("name"), ref
    for where, element in _element_defs():
        assert 1 <= element.min_len <= element.max_len, where
        assert element.usage in {"M", "O", "X"}, where


def test_code_lists_are_non_empty_where_present() -> None:
    for seg_id, seg in _raw("segments.yaml").items():
        for position, spec in enumerate(seg["elements"], start=1):
            if "codes" in spec:
                codes = spec["codes"]
                assert codes, f"{seg_id}{position:02d}: empty code list"
                assert all(isinstance(c, str) and c for c in codes), f"{seg_id}{position:02d}: codes must be strings"
                assert len(set(codes)) == len(codes), f"{seg_id}{position:02d}: duplicate codes"
    for where, element in _element_defs():
        if element.codes is not None:
            assert element.codes, where
            assert all(element.min_len <= len(c) <= element.max_len for c in element.codes), where


def test_syntax_notes_name_existing_positions() -> None:
    for seg_id, seg in definition.segment_dictionary(VERSION).items():
        for rule in seg.syntax:
            assert len(rule.positions) >= 2, f"{seg_id} {rule}"
            assert max(rule.positions) <= len(seg.elements), f"{seg_id} {rule}"


def _element(ref: str) -> ElementDef | CompositeDef:
    segments = definition.segment_dictionary(VERSION)
    seg_id, position = ref[:-2], int(ref[-2:])
    return segments[seg_id].elements[position - 1]


@pytest.mark.parametrize(
    ("ref", "el_type", "min_len", "max_len", "usage"),
    [
        pytest.param("BEG03", "AN", 1, 22, "M", id="BEG03-purchase-order-number"),
        pytest.param("BEG05", "DT", 8, 8, "M", id="BEG05-date"),
        pytest.param("TDS01", "N2", 1, 15, "M", id="TDS01-amount"),
        pytest.param("CTT01", "N0", 1, 6, "M", id="CTT01-number-of-line-items"),
        pytest.param("REF02", "AN", 1, 30, "X", id="REF02-is-004010-length-not-005010"),
        pytest.param("PO102", "R", 1, 15, "X", id="PO102-quantity-ordered"),
        pytest.param("PO104", "R", 1, 17, "X", id="PO104-unit-price"),
        pytest.param("IT102", "R", 1, 10, "X", id="IT102-quantity-invoiced-004010"),
        pytest.param("PER04", "AN", 1, 80, "X", id="PER04-communication-number-004010"),
        pytest.param("BSN02", "AN", 2, 30, "M", id="BSN02-shipment-identification"),
        pytest.param("HL01", "AN", 1, 12, "M", id="HL01-hierarchical-id"),
        pytest.param("AK102", "N0", 1, 9, "M", id="AK102-group-control-number"),
        pytest.param("AK304", "ID", 1, 3, "O", id="AK304-segment-syntax-error"),
        pytest.param("N101", "ID", 2, 3, "M", id="N101-entity-identifier"),
    ],
)
def test_known_element_facts(ref: str, el_type: str, min_len: int, max_len: int, usage: str) -> None:
    element = _element(ref)
    assert isinstance(element, ElementDef)
    assert (element.type, element.min_len, element.max_len, element.usage) == (el_type, min_len, max_len, usage)


@pytest.mark.parametrize(
    ("ref", "required"),
    [
        pytest.param("HL03", {"S", "O", "P", "I", "T"}, id="HL03-ship-order-pack-item-tare"),
        pytest.param("AK501", {"A", "E", "R"}, id="AK501-accept-errors-reject"),
        pytest.param("AK901", {"A", "E", "P", "R"}, id="AK901-group-ack-codes"),
        pytest.param("BEG01", {"00", "01", "04", "05", "06", "07", "11", "18"}, id="BEG01-purpose"),
        pytest.param("BEG02", {"SA", "NE", "KN", "RL", "DS", "BK", "RO", "CP"}, id="BEG02-po-type"),
        pytest.param("BAK01", {"00", "11"}, id="BAK01-purpose"),
        pytest.param("BAK02", {"AT", "AC", "AD", "RJ", "AE"}, id="BAK02-ack-type"),
        pytest.param("ACK01", {"IA", "IR", "IB", "IC", "ID", "IQ", "AC", "AR", "DR"}, id="ACK01-line-status"),
        pytest.param("BSN01", {"00", "05", "06"}, id="BSN01-purpose"),
        pytest.param("BSN05", {"0001", "0002", "0004"}, id="BSN05-hierarchical-structure"),
        pytest.param("AK101", {"PO", "IN", "PR", "SH", "FA"}, id="AK101-functional-ids"),
        pytest.param("AK304", {"1", "2", "3", "8"}, id="AK304-segment-errors"),
        pytest.param("AK403", {"1", "4", "7", "10"}, id="AK403-element-errors"),
    ],
)
def test_known_code_facts(ref: str, required: set[str]) -> None:
    element = _element(ref)
    assert isinstance(element, ElementDef)
    assert element.codes is not None, f"{ref} has no code list"
    assert required <= element.codes, f"{ref} lacks {sorted(required - element.codes)}"


@pytest.mark.parametrize("ref", ["N101", "DTM01"])
def test_open_ended_elements_carry_no_code_list(ref: str) -> None:
    element = _element(ref)
    assert isinstance(element, ElementDef)
    assert element.codes is None


@pytest.mark.parametrize(
    ("seg_id", "notes"),
    [
        pytest.param("REF", {"R0203"}, id="REF"),
        pytest.param("N1", {"R0203", "P0304"}, id="N1"),
        pytest.param("N4", {"C0605"}, id="N4"),
        pytest.param("DTM", {"R020305", "C0403", "P0506"}, id="DTM"),
        pytest.param("PO1", {"C0302", "C0504", "P0607", "P0809", "P2425"}, id="PO1"),
        pytest.param("SLN", {"P0405", "C0706", "C0806", "P0910"}, id="SLN"),
        pytest.param("PER", {"P0304", "P0506", "P0708"}, id="PER"),
    ],
)
def test_known_syntax_notes(seg_id: str, notes: set[str]) -> None:
    seg = definition.segment_dictionary(VERSION)[seg_id]
    assert notes <= {str(rule) for rule in seg.syntax}


@pytest.mark.parametrize(
    ("set_id", "loop_id", "usage", "repeat"),
    [
        pytest.param("850", "PO1", "M", 100000, id="850-PO1"),
        pytest.param("850", "N1", "O", 200, id="850-N1"),
        pytest.param("850", "CTT", "O", 1, id="850-CTT"),
        pytest.param("810", "IT1", "O", 200000, id="810-IT1"),
        pytest.param("855", "ACK", "O", 104, id="855-ACK"),
        pytest.param("856", "HL", "M", 200000, id="856-HL"),
        pytest.param("997", "AK2", "O", definition.UNBOUNDED, id="997-AK2"),
    ],
)
def test_known_loop_facts(set_id: str, loop_id: str, usage: str, repeat: int) -> None:
    loop = _find_loop(_load(set_id), loop_id)
    assert (loop.usage, loop.repeat) == (usage, repeat)


@pytest.mark.parametrize(
    ("set_id", "segments"),
    [
        pytest.param(
            "850", {"BEG", "PO1", "PID", "PO4", "SCH", "SLN", "CTP", "TAX", "TD5", "ITD", "IT8", "CTT"}, id="850"
        ),
        pytest.param("810", {"BIG", "IT1", "TDS", "ITD", "SAC", "ISS", "CTT"}, id="810"),
        pytest.param("855", {"BAK", "PO1", "ACK", "SCH", "CTP", "CTT"}, id="855"),
        pytest.param("856", {"BSN", "HL", "LIN", "SN1", "PRF", "TD1", "TD5", "TD3", "MAN", "CTT"}, id="856"),
        pytest.param("997", {"AK1", "AK2", "AK3", "AK4", "AK5", "AK9"}, id="997"),
    ],
)
def test_sets_carry_their_standard_segments(set_id: str, segments: set[str]) -> None:
    assert segments <= set(_load(set_id).segments)


# --------------------------------------------------------------------------- corpus coverage


def _corpus_dir() -> Path:
    if CORPUS_DIR.is_dir():
        return CORPUS_DIR
    message = f"shared X12 corpus not found at {CORPUS_DIR}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _interchange_segments(data: str) -> Iterator[list[str]]:
    """Each segment of each interchange in `data`, as a list of elements.

    Deliberately simple (this is a test aid, not the engine's tokenizer): the element separator
    is the byte after "ISA", the segment terminator the character right after ISA16. Line breaks
    are also treated as segment boundaries so wrapped or mixed-terminator files still split.
    """
    start = data.find("ISA")
    while start != -1:
        sep = data[start + 3]
        pos = start
        for _ in range(16):
            pos = data.find(sep, pos + 1)
            if pos == -1:
                return
        terminator = data[pos + 2] if pos + 2 < len(data) else "~"
        end = data.find("ISA" + sep, pos)
        chunk = data[start : end if end != -1 else len(data)]
        for piece in chunk.split(terminator):
            for line in re.split(r"[\r\n]+", piece):
                line = line.strip()
                if line:
                    yield line.split(sep)
        start = end


def _corpus_segments_by_set() -> dict[str, dict[str, set[str]]]:
    """set id -> segment id -> names of the corpus files that use it inside that set."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in sorted(_corpus_dir().rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes().decode("latin-1")
        if "ISA" not in data:
            continue
        current: str | None = None
        for elements in _interchange_segments(data):
            seg_id = elements[0].strip()
            if seg_id == "ST":
                current = elements[1].strip() if len(elements) > 1 else None
            elif seg_id == "SE":
                current = None
            elif current in EXPECTED_SETS and _SEGMENT_ID.match(seg_id):
                found.setdefault(current, {}).setdefault(seg_id, set()).add(path.name)
    return found


@pytest.mark.corpus
def test_corpus_segments_are_in_their_set_structure() -> None:
    found = _corpus_segments_by_set()
    assert found, "no 850/810/855/856/997 transaction sets found in the corpus"
    problems = []
    for set_id, segments in sorted(found.items()):
        defined = set(_load(set_id).segments)
        exceptions = CORPUS_EXCEPTIONS.get(set_id, {})
        for seg_id, files in sorted(segments.items()):
            if seg_id not in defined and seg_id not in exceptions:
                problems.append(f"{set_id}: {seg_id} (in {', '.join(sorted(files))})")
    assert not problems, "corpus segments missing from the set structure:\n" + "\n".join(problems)


@pytest.mark.corpus
def test_corpus_exceptions_are_still_exceptions() -> None:
    _corpus_dir()
    for set_id, segments in CORPUS_EXCEPTIONS.items():
        defined = set(_load(set_id).segments)
        for seg_id, reason in segments.items():
            assert reason, f"{set_id} {seg_id}: an exception needs its reason"
            assert seg_id not in defined, f"{set_id} {seg_id} is in the structure now: drop the exception"
