"""The declarative mapping engine: outbound (ERP JSON -> X12), inbound (X12 -> JSON), JSON.

Mappings are compiled once (`compile_mapping`) and rendered purely: `render_outbound` for X12
(`renumbered` wraps its body again with other control numbers),
`render_payload` for inbound and JSON mappings, `dry_run` for one input file as a route would.
"""

from __future__ import annotations

from engine.mapping.compile import CompiledMapping, compile_mapping, load_mapping
from engine.mapping.dryrun import DryRun, dry_run
from engine.mapping.inbound import document_key, render_payload
from engine.mapping.outbound import Controls, Rendered, render_outbound, renumbered

__all__ = [
    "CompiledMapping",
    "Controls",
    "DryRun",
    "Rendered",
    "compile_mapping",
    "document_key",
    "dry_run",
    "load_mapping",
    "render_outbound",
    "render_payload",
    "renumbered",
]
