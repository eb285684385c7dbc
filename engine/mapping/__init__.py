"""The declarative mapping engine: outbound (ERP JSON -> X12), inbound (X12 -> JSON), JSON."""

from __future__ import annotations

__all__: list[str] = []
