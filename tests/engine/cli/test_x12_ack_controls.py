"""`mlc x12 ack FILE` without --control: the control numbers are peeked from the store's counters
of the partner that sent FILE (never consumed), else 1, and the output says which; the partner's
newline setting decides the line breaks of the 997."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.store import Store
from tests.engine.config.config_support import ACME, write_project
from tests.engine.x12.x12_support import purchase_order

FROM_ACME = purchase_order().replace("ZZ*SENDER         ", "ZZ*ACMERETAIL     ")


@pytest.fixture(autouse=True)
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("MLC_PROJECT", "MLC_DEBUG", "MLC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    directory = tmp_path / "state"
    monkeypatch.setenv("MLC_STATE_DIR", str(directory))
    return directory


def ack(tmp_path: Path, project: Path, *args: str) -> Result:
    edi = tmp_path / "in.edi"
    edi.write_text(FROM_ACME, encoding="utf-8")
    return CliRunner().invoke(cli, ["x12", "ack", str(edi), "--now", "2024-05-03T09:30", "--project", str(project), *args])


def test_without_a_project_the_control_numbers_start_at_1_and_the_output_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = ack(tmp_path, empty)
    assert result.exit_code == 0, result.output
    assert "*U*00401*000000001*0*" in result.stdout and "GS*FA*RECEIVERAPP*SENDERAPP*20240503*0930*1*X*004010~" in result.stdout
    assert "control numbers start at 1 (no project here; --control N chooses)" in result.stderr


def test_without_a_store_the_control_numbers_start_at_1(tmp_path: Path) -> None:
    result = ack(tmp_path, write_project(tmp_path / "project"))
    assert result.exit_code == 0, result.output
    assert "*000000001*" in result.stdout
    assert "control numbers start at 1 (no state store" in result.stderr


def test_the_partners_stored_counters_are_peeked_not_consumed(tmp_path: Path, state: Path) -> None:
    project = write_project(tmp_path / "project")
    state.mkdir()
    with Store.open(None, state_dir=state) as store:
        for kind, count in (("isa", 41), ("gs", 7), ("st", 2)):
            store.next_control("acme", kind, count=count)
    for _ in range(2):
        result = ack(tmp_path, project)
        assert result.exit_code == 0, result.output
        assert "*U*00401*000000042*0*" in result.stdout
        assert "GS*FA*RECEIVERAPP*SENDERAPP*20240503*0930*8*X*004010~" in result.stdout
        assert "ST*997*0003~" in result.stdout
        assert "ISA13 42, GS06 8, ST02 3 peeked from the store's counters of partner acme (not consumed" in result.stderr
    with Store.open(None, state_dir=state) as store:
        assert [store.peek_control("acme", kind) for kind in ("isa", "gs", "st")] == [42, 8, 3]


def test_control_still_chooses_the_numbers(tmp_path: Path) -> None:
    result = ack(tmp_path, write_project(tmp_path / "project"), "--control", "500")
    assert "*000000500*" in result.stdout and "control numbers from --control 500" in result.stderr


@pytest.mark.parametrize(("newline", "breaks"), [pytest.param("true", True, id="newline"), pytest.param("false", False, id="no-newline")])
def test_the_997_follows_the_partners_newline_setting(tmp_path: Path, newline: str, breaks: bool) -> None:
    acme = ACME.replace("  id: ACMERETAIL\n", f"  id: ACMERETAIL\n  newline: {newline}\n", 1)
    result = ack(tmp_path, write_project(tmp_path / "project", {"partners/acme.yaml": acme}))
    assert result.exit_code == 0, result.output
    assert ("~\n" in result.stdout) is breaks
    assert result.stdout.count("~") == 10
