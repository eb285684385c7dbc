"""`mlc x12 parse | check | ack`: output, exit codes, standard input, and bad input handled as
one line on stderr (never a traceback).

The parse output is validated against the JSON Schema shipped at
engine/x12/schema/parse-tree.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli

ISA = "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240502*1005*U*00401*000000701*0*T*>~\n"
GS = "GS*PO*ACMERETAIL*MLCONNECT*20240502*1005*701*X*004010~\n"
PO = (
    "ST*850*0001~\nBEG*00*SA*ACME-PO-7001**20240502~\nREF*DP*042~\nN1*ST*Acme DC 7*92*0007~\n"
    "PO1*1*10*EA*1000.8**BP*AC-DESK-01~\nPID*F****ATHENS Desk~\nCTT*1~\nSE*8*0001~\n"
)
VALID = ISA + GS + PO + "GE*1*701~\nIEA*1*000000701~\n"
INVALID = VALID.replace("BEG*00*SA", "BEG*99*SA").replace("CTT*1~", "CTT*A~")
BROKEN_ENVELOPE = VALID.replace("SE*8*0001", "SE*9*0001")


@pytest.fixture(autouse=True)
def no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLC_DEBUG", raising=False)


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["x12", *args], input=stdin)


def write(tmp_path: Path, text: str | bytes, name: str = "in.edi") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


@cache
def schema() -> dict[str, Any]:
    text = resources.files("engine.x12.schema").joinpath("parse-tree.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(tree: Any) -> None:
    jsonschema.Draft202012Validator(schema()).validate(tree)


def assert_one_error_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("mlc: error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- parse


def test_parse_prints_the_json_tree_with_envelope_facts(tmp_path: Path) -> None:
    result = run("parse", write(tmp_path, VALID, "po.edi"))
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    validate(tree)
    assert tree["source"].endswith("po.edi")
    (ic,) = tree["interchanges"]
    assert ic["sender"] == {"qualifier": "ZZ", "id": "ACMERETAIL"}
    assert ic["receiver"] == {"qualifier": "ZZ", "id": "MLCONNECT"}
    assert (ic["control_number"], ic["version"], ic["usage"]) == ("000000701", "00401", "T")
    assert ic["delimiters"] == {"element": "*", "component": ">", "segment": "~", "repetition": None}
    (grp,) = ic["groups"]
    assert (grp["functional_id"], grp["control_number"], grp["version"]) == ("PO", "701", "004010")
    (txn,) = grp["transactions"]
    assert (txn["set"], txn["control_number"], txn["definition"]) == ("850", "0001", "004010 850")
    assert txn["body"]["BEG"]["BEG03"] == "ACME-PO-7001"
    assert txn["body"]["PO1_loop"][0]["PID_loop"][0]["PID"]["PID05"] == "ATHENS Desk"


def test_parse_compact_prints_one_line(tmp_path: Path) -> None:
    result = run("parse", "--compact", write(tmp_path, VALID))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    validate(json.loads(result.stdout))


def test_parse_keeps_utf8_text_unescaped(tmp_path: Path) -> None:
    result = run("parse", write(tmp_path, VALID.replace("ATHENS Desk", "Schreibtisch Größe M")))
    assert result.exit_code == 0
    assert "Schreibtisch Größe M" in result.stdout


def test_parse_refuses_a_broken_envelope_unless_lenient(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_ENVELOPE)
    assert_one_error_line(run("parse", path), "segment 10 (SE): SE01 says 9 segments, the transaction set has 8")
    lenient = run("parse", "--lenient", path)
    assert lenient.exit_code == 0
    validate(json.loads(lenient.stdout))


def test_parse_reads_standard_input() -> None:
    result = run("parse", "-", stdin=VALID.encode())
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    assert tree["source"] == "<stdin>"
    validate(tree)


# --------------------------------------------------------------------------- check


def test_check_valid_file_exits_0_with_a_summary_on_stderr(tmp_path: Path) -> None:
    result = run("check", write(tmp_path, VALID))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.strip().endswith("1 interchange(s), 1 group(s), 1 transaction set(s): valid")


def test_check_invalid_file_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    path = write(tmp_path, INVALID)
    result = run("check", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}: segment 4 (BEG): error: BEG01 (353 Transaction Set Purpose Code) '99' is not a valid code; "
        "valid: 00, 01, 02, 03, 04, 05, 06, 07, 08, 10, 11, 12, 13, 14, 15, ... (65 codes)",
        f"{path}: segment 9 (CTT): error: CTT01 (354 Number of Line Items) 'A' is not an integer",
    ]
    assert result.stderr.strip().endswith("1 transaction set(s): 2 error(s)")


def test_check_warning_only_exits_0_unless_strict(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("GS*PO*", "GS*IN*"))
    result = run("check", path)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{path}: segment 2 (GS): warning: GS01 is 'IN' but transaction set 850 belongs in a 'PO' group"
    ]
    assert "valid, 1 warning(s)" in result.stderr
    assert run("check", "--strict", path).exit_code == 1


def test_check_reads_standard_input() -> None:
    result = run("check", "-", stdin=INVALID.encode())
    assert result.exit_code == 1
    assert all(line.startswith("<stdin>: segment ") for line in result.stdout.splitlines())
    assert len(result.stdout.splitlines()) == 2


def test_check_reports_envelope_errors_without_refusing(tmp_path: Path) -> None:
    result = run("check", write(tmp_path, BROKEN_ENVELOPE))
    assert result.exit_code == 1
    assert "segment 10 (SE): error: SE01 says 9 segments, the transaction set has 8" in result.stdout


# --------------------------------------------------------------------------- ack


def test_ack_prints_the_997_with_caller_control_numbers_and_time(tmp_path: Path) -> None:
    result = run("ack", write(tmp_path, INVALID), "--control", "42", "--now", "2024-05-03T08:15")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ISA*00*          *00*          *ZZ*MLCONNECT      *ZZ*ACMERETAIL     *240503*0815*U*00401*000000042*0*T*>~",
        "GS*FA*MLCONNECT*ACMERETAIL*20240503*0815*42*X*004010~",
        "ST*997*0042~",
        "AK1*PO*701~",
        "AK2*850*0001~",
        "AK3*BEG*2**8~",
        "AK4*1*353*7*99~",
        "AK3*CTT*7**8~",
        "AK4*1*354*6*A~",
        "AK5*R*5~",
        "AK9*R*1*1*0~",
        "SE*10*0042~",
        "GE*1*42~",
        "IEA*1*000000042~",
    ]


def test_ack_output_passes_check() -> None:
    ack = run("ack", "-", "--control", "7", "--now", "2024-05-03T08:15", stdin=INVALID.encode())
    assert ack.exit_code == 0
    check = run("check", "-", stdin=ack.stdout.encode())
    assert check.exit_code == 0, check.output
    assert check.stdout == ""


def test_ack_reads_standard_input() -> None:
    result = run("ack", "-", "--control", "1", "--now", "2024-05-03T08:15", stdin=VALID.encode())
    assert result.exit_code == 0
    assert "AK9*A*1*1*1~" in result.stdout


def test_ack_of_a_997_says_there_is_nothing_to_acknowledge(tmp_path: Path) -> None:
    fa = (
        ISA + "GS*FA*ACMERETAIL*MLCONNECT*20240502*1005*702*X*004010~\nST*997*0001~\nAK1*PO*1~\nAK9*A*1*1*1~\n"
        "SE*4*0001~\nGE*1*702~\nIEA*1*000000701~\n"
    )
    result = run("ack", write(tmp_path, fa), "--control", "1", "--now", "2024-05-03T08:15")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing to acknowledge" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--control", "0"], "mlc: usage: --control 0 is outside 1..999999999", id="control-zero"),
        pytest.param(
            ["--control", "1000000000"], "mlc: usage: --control 1000000000 is outside 1..999999999", id="control-big"
        ),
        pytest.param(
            ["--control", "1", "--now", "yesterday"],
            "mlc: usage: --now 'yesterday' is not a date and time like 2024-05-02T10:05",
            id="now",
        ),
    ],
)
def test_ack_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("ack", write(tmp_path, VALID), *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == message


# --------------------------------------------------------------------------- bad input

COMMANDS: list[Callable[[str], list[str]]] = [
    lambda path: ["parse", path],
    lambda path: ["check", path],
    lambda path: ["ack", path, "--control", "1", "--now", "2024-05-03T08:15"],
]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(b"", "empty file: no ISA segment", id="empty"),
        pytest.param(b"   \n\n", "empty file: no ISA segment", id="whitespace"),
        pytest.param(b"ISA*00\x00\x00binary", "binary data, not X12 text: NUL byte at byte offset 6", id="binary"),
        pytest.param(b"ISA*\xc3\x28", "not UTF-8 text: invalid byte 0xc3 at byte offset 4", id="invalid-utf8"),
        pytest.param(b'{"orders": []}', "this looks like JSON, not X12", id="json"),
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", "this looks like XML or HTML", id="html"),
        pytest.param(b"Hello, this is not EDI", "not X12: expected an ISA segment at the start", id="text"),
        pytest.param(b"ISA*00*          *00*", "the ISA segment has fewer than 16 elements", id="isa-truncated"),
        pytest.param(
            ISA.replace(">~", "*~").encode(),
            "ISA delimiters: the component separator '*' is also the element separator",
            id="colliding-delimiters",
        ),
    ],
)
@pytest.mark.parametrize("command", COMMANDS, ids=["parse", "check", "ack"])
def test_malformed_input_is_one_error_line_and_exit_1(
    tmp_path: Path, data: bytes, fragment: str, command: Callable[[str], list[str]]
) -> None:
    path = write(tmp_path, data, "bad.edi")
    assert_one_error_line(run(*command(path)), "bad.edi: ", fragment)


@pytest.mark.parametrize("command", COMMANDS, ids=["parse", "check", "ack"])
def test_malformed_standard_input_is_one_error_line_and_exit_1(command: Callable[[str], list[str]]) -> None:
    result = run(*command("-"), stdin=b'[{"not": "x12"}]')
    assert_one_error_line(result, "<stdin>: this looks like JSON, not X12")


@pytest.mark.parametrize("command", COMMANDS, ids=["parse", "check", "ack"])
def test_missing_file_is_one_error_line(tmp_path: Path, command: Callable[[str], list[str]]) -> None:
    missing = str(tmp_path / "nope.edi")
    assert_one_error_line(run(*command(missing)), f"{missing}: cannot open: No such file or directory")


def test_a_directory_is_one_error_line(tmp_path: Path) -> None:
    assert_one_error_line(run("check", str(tmp_path)), "cannot open")


# --------------------------------------------------------------------------- schema


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


CORPUS_FILES = [
    "ediengine/850.OK.edi",
    "ediengine/850.Composite.SLN.OK.edi",
    "ediengine/856.Crossdock.OK.edi",
    "ediengine/MultipleInterchangesAndGroups.edi",
    "stupidedi/IN810_pass_1.edi",
    "stupidedi/PR855_pass_1.edi",
    "stupidedi/FA997_pass_1.edi",
    "stupidedi/X357_SC850_Aerospace_Industry_Purchase_Order_pass_taxexempt-po.edi",
]


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_parse_output_of_corpus_files_matches_the_schema(name: str, shared_dir: Callable[[str], Path]) -> None:
    path = shared_dir("corpus") / name
    result = run("parse", "--lenient", str(path))
    assert result.exit_code == 0, result.output
    validate(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        pytest.param(lambda t: t["interchanges"][0].pop("delimiters"), "delimiters", id="missing-delimiters"),
        pytest.param(
            lambda t: t["interchanges"][0]["groups"][0]["transactions"][0]["body"]["BEG"].update(BEG03=4711),
            "4711",
            id="number-value",
        ),
        pytest.param(
            lambda t: t["interchanges"][0]["groups"][0]["transactions"][0]["body"].update(beg={}),
            "beg",
            id="bad-segment-key",
        ),
        pytest.param(
            lambda t: t["interchanges"][0]["groups"][0]["transactions"][0]["body"]["BEG"].update(BEG04=""),
            "''",
            id="empty-element-kept",
        ),
        pytest.param(
            lambda t: t["interchanges"][0]["groups"][0]["transactions"][0].update(definition=None),
            "segments",
            id="flat-body-expected",
        ),
    ],
)
def test_schema_rejects_trees_of_another_shape(mutate: Callable[[dict[str, Any]], object], where: str) -> None:
    tree = json.loads(run("parse", "-", stdin=VALID.encode()).stdout)
    mutate(tree)
    with pytest.raises(jsonschema.ValidationError):
        validate(tree)
