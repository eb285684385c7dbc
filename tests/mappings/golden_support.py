"""What the golden-case tests share."""

from __future__ import annotations

from engine.mapping.cases import Case


def expects_error(case: Case) -> bool:
    """Whether the case's render must fail (its case.yaml names the error)."""
    settings = case.path / "case.yaml"
    return settings.is_file() and "expect_error" in settings.read_text(encoding="utf-8")
