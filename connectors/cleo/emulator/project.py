"""The Cleo emulator seeded for a project: every partner's mailbox folders, and sample files.

The demo world's seed (seed/mailbox.yaml) holds the folders and inbound files of the example
partners. A project has partners of its own, so `project_state(project)` adds, for every
partner whose `cleo.connection` is a Cleo connection, its inbox, outbox and archive folders,
and for each partner the seed does not know, the inbound golden cases of the project
(`mappings/<name>/cases/<case>/input.edi` whose `case.yaml` names the partner, or whose ISA
sender is the partner; engine.mapping.cases.inbound_samples) as files in its inbox, named
`<set>_<case>.edi`: `mlc demo --project` then has documents of the project's own partners.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from connectors.cleo.emulator.state import SEED_PACKAGE, CleoEmulatorState
from engine.mapping.cases import Sample, inbound_samples

__all__ = ["project_state", "sample_files", "seeded_partners"]

SAMPLE_TIME = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def seeded_partners() -> frozenset[str]:
    """The partners of the demo world's mailbox seed."""
    manifest = yaml.safe_load(resources.files(SEED_PACKAGE).joinpath("mailbox.yaml").read_text(encoding="utf-8"))
    return frozenset(str(p) for p in manifest["partners"])


def _cleo_partners(project: Any) -> list[Any]:
    connections = project.connections
    return [
        p
        for _, p in sorted(project.partners.items())
        if isinstance(p.data.get("cleo"), dict) and connections.get(str(p.data["cleo"].get("connection")), {}).get("type") == "cleo"
    ]


def sample_files(project: Any) -> list[tuple[str, Sample]]:
    """(inbox, sample) for the inbound golden cases of the partners the seed does not know."""
    known = seeded_partners()
    partners = {p.id: p for p in _cleo_partners(project) if p.id not in known}
    return [(str(partners[s.partner].data["cleo"]["inbox"]), s) for s in inbound_samples(project) if s.partner in partners]


def project_state(project: Any, *, samples: bool = True, **options: Any) -> CleoEmulatorState:
    """The demo world's mailbox plus every folder of `project`, and its sample files unless
    `samples` is false (the end-to-end tests want the demo world's documents only)."""
    state = CleoEmulatorState.seeded(**options)
    for partner in _cleo_partners(project):
        cleo = partner.data["cleo"]
        for key in ("inbox", "outbox", "archive"):
            path = str(cleo.get(key) or "").strip("/")
            if not path:
                continue
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            if parent:
                state.add_folder(parent, permissions=())
            state.add_folder(path)
    for inbox, sample in sample_files(project) if samples else []:
        state.put_file(inbox, sample.name, sample.content, modified=SAMPLE_TIME)
    return state
