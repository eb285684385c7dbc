"""Partners on 004010 and 005010: the repetition separator exists from 00501 only, and a
partner on 005010 uses the standard (004010) inbound mappings where the segments they read
are the same; `mlc validate` says where they are not."""

from __future__ import annotations

from pathlib import Path

from config_support import ACME, ENVIRON, ORDER_MAPPING, lines, write_project

from engine.config.project import validate_project


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _acme(version: str, delimiters: str = "") -> str:
    extra = f'  version: "{version}"\n' + (f"  delimiters: {delimiters}\n" if delimiters else "")
    return edit(ACME, "  id: ACMERETAIL\n", "  id: ACMERETAIL\n" + extra)


def _inbound_only(text: str) -> str:
    """The partner without its outbound 810 (whose mapping is written for 004010)."""
    return edit(text, '  - {set: "810", direction: outbound}\n', "")


def test_a_004010_partner_needs_no_repetition_separator(tmp_path: Path) -> None:
    project, findings = validate_project(write_project(tmp_path, {"partners/acme.yaml": _acme("004010")}), ENVIRON)
    assert findings == []
    assert project is not None
    assert "repetition" not in project.partners["acme"].data["x12"]["delimiters"]


def test_a_004010_partner_may_use_the_caret_as_a_delimiter(tmp_path: Path) -> None:
    """`^` is the default repetition separator, which a 004010 partner does not have: a
    partner whose element separator is `^` is valid."""
    files = {"partners/acme.yaml": _acme("004010", '{element: "^"}')}
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert findings == []
    assert project is not None
    assert project.partners["acme"].data["x12"]["delimiters"] == {"element": "^", "component": ">", "segment": "~"}


def test_a_repetition_separator_set_for_a_004010_partner_is_a_warning_that_it_is_ignored(tmp_path: Path) -> None:
    files = {"partners/acme.yaml": _acme("004010", '{repetition: "!"}')}
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert lines(findings) == ["partners/acme.yaml:6:28: warning partner-delimiter"]
    assert "ISA11 is U before 00501" in findings[0].message
    assert project is not None


def test_a_005010_partner_gets_the_default_repetition_separator(tmp_path: Path) -> None:
    files = {"partners/acme.yaml": _inbound_only(_acme("005010"))}
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert project is not None, lines(findings)
    assert project.partners["acme"].data["x12"]["delimiters"]["repetition"] == "^"
    assert not [f for f in findings if f.code == "partner-delimiter"]


def test_a_005010_partner_repetition_separator_is_checked(tmp_path: Path) -> None:
    files = {"partners/acme.yaml": _acme("005010", '{element: "^"}')}
    _, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    delimiter = [f for f in findings if f.code == "partner-delimiter"]
    assert len(delimiter) == 1 and delimiter[0].level == "error"
    assert "repetition and element delimiters are both '^'" in delimiter[0].message


def test_a_005010_partner_reads_a_004010_inbound_mapping_whose_segments_are_the_same(tmp_path: Path) -> None:
    """The base order mapping reads BEG and PO1, which 005010 has unchanged: nothing to say."""
    files = {"partners/acme.yaml": _inbound_only(_acme("005010"))}
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert project is not None
    assert not [f for f in findings if f.code.startswith("x12-version")], lines(findings)


def test_validate_says_where_a_004010_inbound_mapping_reads_what_005010_changed(tmp_path: Path) -> None:
    """005010 replaced MSG by MTX in the 850's N9 loop: a mapping reading N9_loop/MSG is warned."""
    mapping = ORDER_MAPPING + '  _note: "{{ doc.N9_loop | dig(\'0.MSG.0.MSG01\') }}"\n'
    files = {"partners/acme.yaml": _inbound_only(_acme("005010")), "mappings/order-850/mapping.yaml": mapping}
    project, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert project is not None  # warnings only
    versions = [f for f in findings if f.code == "x12-version-difference"]
    assert [f.level for f in versions] == ["warning"]
    assert "reads MSG: N9_loop/MSG is not in 005010 850" in versions[0].message
    assert versions[0].location.path == "partners/acme.yaml"


def test_an_outbound_mapping_for_another_version_renders_for_a_005010_partner_and_a_version_without_definition_is_an_error(tmp_path: Path) -> None:
    files = {"partners/acme.yaml": _acme("005010")}
    _, findings = validate_project(write_project(tmp_path, files), ENVIRON)
    assert not [f for f in findings if f.code == "x12-version"], lines(findings)
    _, findings = validate_project(write_project(tmp_path / "b", {"partners/acme.yaml": _acme("003040")}), ENVIRON)
    refused = {f.message for f in findings if f.code == "x12-version" and f.level == "error"}
    assert "partner acme uses X12 003040, but route invoices's mapping is written for 004010 (and 003040 has no 810 definition to read or check it against)" in refused


def test_a_uom_code_that_is_no_x12_unit_code_of_the_partners_version_is_a_warning(tmp_path: Path) -> None:
    text = edit(ACME, "xref:\n", "xref:\n  uom: {EA: PCS, XQ: BAG}\n")
    project, findings = validate_project(write_project(tmp_path, {"partners/acme.yaml": text}), ENVIRON)
    warned = [f for f in findings if f.code == "partner-uom"]
    assert project is not None and len(warned) == 1 and warned[0].level == "warning"
    assert "'XQ' is not an X12 004010 unit code (element 355)" in warned[0].message
    assert warned[0].location.path == "partners/acme.yaml"
