"""Partner guides: a trading partner's own requirements, checked on every document.

A guide (`guide:` in a partner file, inline or as a file of the project) states, per
transaction set, the segments and elements the partner requires, the codes it accepts, its
maximum lengths and business rules such as totals (`engine.guides.guide`). Addresses such as
`REF[IA]` or `N1[ST]/N3` select parts of a parsed transaction (`engine.guides.address`);
rules are sandboxed Jinja expressions with typed values (`engine.guides.rules`). Outbound
documents are checked before upload, inbound ones after reading (`engine.guides.check`); a
violation is a GuideError naming the rule, the segment and element, and for outbound the
mapping line that wrote it.
"""

from __future__ import annotations

from engine.guides.address import Address, parse_address
from engine.guides.check import (
    Violation,
    check_interchange,
    check_or_raise,
    check_rendered,
    origin_in_mapping,
    violations,
)
from engine.guides.guide import Guide, SetGuide, compile_guide

__all__ = [
    "Address",
    "Guide",
    "SetGuide",
    "Violation",
    "check_interchange",
    "check_or_raise",
    "check_rendered",
    "compile_guide",
    "origin_in_mapping",
    "parse_address",
    "violations",
]
