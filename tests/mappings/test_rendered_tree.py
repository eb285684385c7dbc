"""A rendered document's tree (what the partner guides check before upload) is the tree of its
text read back, for every outbound golden case of the project."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from golden_support import expects_error

from engine.config.project import load_project
from engine.mapping import dryrun
from engine.mapping.cases import Case, discover, run_case
from engine.mapping.outbound import Rendered
from engine.x12.document import parse

ROOT = Path(__file__).resolve().parents[2]
PROJECT = load_project(ROOT)
OUTBOUND = [c for c in discover(ROOT) if PROJECT.mappings[c.mapping].direction == "outbound" and not expects_error(c)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.label) for c in OUTBOUND])
def test_the_tree_of_the_rendered_segments_is_the_tree_of_the_text(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[Rendered] = []
    render = dryrun.render_outbound

    def kept(*args: Any, **kwargs: Any) -> Rendered:
        rendered.append(render(*args, **kwargs))
        return rendered[-1]

    monkeypatch.setattr(dryrun, "render_outbound", kept)
    run_case(PROJECT, case)
    [done] = rendered
    [interchange] = parse(io.BytesIO(done.text.encode("utf-8")), case.label)["interchanges"]
    [transaction] = interchange["groups"][0]["transactions"]
    assert done.tree() == transaction["body"]
