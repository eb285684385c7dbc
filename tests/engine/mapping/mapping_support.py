"""Helpers for the mapping tests: compile YAML text, a partner profile, a fixed clock."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from engine.config.source import parse_yaml
from engine.mapping.compile import CompiledMapping, compile_mapping

NOW = datetime(2024, 5, 3, 9, 30)


def compiled(text: str, name: str = "m") -> CompiledMapping:
    mapping, findings = compile_mapping(parse_yaml(textwrap.dedent(text), f"mappings/{name}/mapping.yaml"), name)
    assert not findings, [f.line() for f in findings]
    assert mapping is not None
    return mapping


def findings_of(text: str, name: str = "m") -> list[str]:
    _, findings = compile_mapping(parse_yaml(textwrap.dedent(text), f"mappings/{name}/mapping.yaml"), name)
    return [f.line() for f in findings]


def partner(**x12: Any) -> dict[str, Any]:
    settings = {
        "qualifier": "ZZ",
        "id": "ACMERETAIL",
        "application_id": "ACMERETAIL",
        "version": "004010",
        "usage": "production",
        "identity": {"qualifier": "ZZ", "id": "MLCONNECT", "application_id": "MLCONNECT"},
        "delimiters": {"element": "*", "component": ">", "segment": "~", "repetition": "^"},
        "overlong": "truncate",
        "delimiter_in_data": "replace",
    }
    settings.update(x12)
    return {
        "id": "acme",
        "x12": settings,
        "erp": {"bc": {"customer": "C10000"}},
        "xref": {"items": {"AC-DESK-01": "1896-S", "AC-CHAIR-02": "1900-S"}, "uom": {"EA": "PCS"}},
        "settings": {"dept": "042"},
    }
