"""Lint findings as data: `path:line:col: level CODE message`, also as JSON for tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.config.source import Location


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found in a project file."""

    location: Location
    code: str
    message: str
    level: str = "error"

    def line(self) -> str:
        return f"{self.location}: {self.level} {self.code} {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "level": self.level,
            "code": self.code,
            "message": self.message,
        }
