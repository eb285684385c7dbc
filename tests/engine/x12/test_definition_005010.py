"""The 005010 definitions of 810, 850, 855, 856 and 997, checked on files written for them, and
what `differences` says changed from 004010."""

from __future__ import annotations

import pytest

from engine.x12 import definition
from tests.engine.x12.x12_support import check_text, errors, group, interchange, parse_text, transaction

N9_MTX = ["BEG*00*SA*PO-5010**20240502", "N9*L1*NOTES", "MTX*GEN*Deliver to dock 4", "PO1*1*2*EA*12.5**VP*ACME-1", "CTT*1"]
N9_MSG = ["BEG*00*SA*PO-5010**20240502", "N9*L1*NOTES", "MSG*Deliver to dock 4", "PO1*1*2*EA*12.5**VP*ACME-1", "CTT*1"]


def _file(body: list[str], gs08: str = "005010", set_id: str = "850", functional_id: str = "PO") -> str:
    isa12, isa11 = ("00501", "^") if gs08.startswith("005") else ("00401", "U")
    return interchange([group([transaction(set_id, body)], version=gs08, functional_id=functional_id)], version=isa12, repetition=isa11)


@pytest.mark.parametrize(("set_id", "group_id"), [("810", "IN"), ("850", "PO"), ("855", "PR"), ("856", "SH"), ("997", "FA")])
def test_every_005010_set_loads_with_its_functional_group(set_id: str, group_id: str) -> None:
    loaded = definition.load("005010X999", set_id)
    assert loaded is not None and loaded.label == f"005010 {set_id}" and loaded.functional_group == group_id


def test_a_005010_850_reads_mtx_in_the_n9_loop_and_004010_does_not() -> None:
    assert check_text(_file(N9_MTX)).ok
    tree = parse_text(_file(N9_MTX))
    (txn,) = tree["interchanges"][0]["groups"][0]["transactions"]
    assert txn["definition"] == "005010 850"
    assert txn["body"]["N9_loop"][0]["MTX"] == [{"MTX01": "GEN", "MTX02": "Deliver to dock 4"}]
    assert not check_text(_file(N9_MTX, gs08="004010")).ok


def test_msg_in_the_n9_loop_is_004010_only() -> None:
    assert check_text(_file(N9_MSG, gs08="004010")).ok
    assert any("MSG" in line for line in errors(check_text(_file(N9_MSG))))


def test_005010_lengths_and_trailing_elements() -> None:
    long_ref = "REF*CO*" + "X" * 45
    body = ["BEG*00*SA*PO-5010**20240502", long_ref, "PO1*1*2*EA*12.5**VP*ACME-1", "CTT*1"]
    assert check_text(_file(body)).ok
    assert any("REF02" in line and "at most 30" in line for line in errors(check_text(_file(body, gs08="004010"))))
    st03 = interchange([group([["ST*850*0001*005010X357", *body, "SE*6*0001"]], version="005010")], version="00501", repetition="^")
    assert check_text(st03).ok


def test_a_005010_997_is_valid_with_its_own_codes() -> None:
    body = ["AK1*PO*1*005010", "AK2*850*0001", "AK3*PO1*3**8", "AK4*1**13", "AK5*R*5", "AK9*R*1*1*0"]
    assert check_text(_file(body, set_id="997", functional_id="FA")).ok


def test_differences_name_what_a_004010_mapping_meets_on_005010() -> None:
    found = definition.differences("850", "004010", "005010")
    assert found is not None
    places = {d.path for d in found if d.kind == "place"}
    assert "N9_loop/MSG" in places
    assert any(d.kind == "length" and d.message.startswith("REF02 is 127 AN 1/30") for d in found)
    assert definition.differences("850", "004010", "004010") == []
    assert definition.differences("940", "004010", "005010") is None
