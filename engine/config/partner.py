"""Trading partners: the profile with its defaults applied, checks, and resolution by key.

`Partner.data` is the partner file after `${ENV}` interpolation with every default filled in,
so mappings and the runtime read one complete shape:

- `id`: the file stem; `settings`: `overrides.settings` (default `{}`), so templates say
  `partner.settings.dept`; `erp`, `xref`, `overrides`, `transactions`: present, maybe empty;
- `x12.application_id` defaults to `x12.id`; `version` "004010"; `usage` production;
  `ack_requested` false; `delimiters` `*` `>` `~`, and `^` as the repetition separator from
  005010 on only (ISA11; a 004010 partner has none: its ISA11 is `U`), each filled in on its own;
  `newline` true; `delimiter_in_data` replace; `overlong` truncate; `acknowledge` true;
- `x12.identity`, our identity towards the partner, defaults to `identity` of
  connections.yaml, with its own `application_id` defaulting to its `id`.

`PartnerIndex` finds a partner by `bc.customer`, `bc.vendor`, `gp.vendor` (the ERP keys, one
or a list each) or `x12.sender` (`QUALIFIER/ID`, or the bare ID when only one partner has
it). It is built once per project; two partners claiming the same key are reported by
`check_claims`, never silently resolved.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from engine.config.lint import Finding
from engine.config.schema import label
from engine.config.source import YamlSource
from engine.errors import ConfigError
from engine.x12 import definition as definitions
from engine.x12.codelists import unit_codes, unit_list_version

if TYPE_CHECKING:
    from engine.guides import Guide

BY_KINDS = ("bc.customer", "bc.vendor", "gp.vendor", "x12.sender")
"""The ways a route can find its partner."""

DEFAULT_DELIMITERS = {"element": "*", "component": ">", "segment": "~", "repetition": "^"}
REPETITION_FROM = "005"
"""The first X12 version (GS08 prefix) whose ISA11 is a repetition separator that we write (ISA12 00501)."""


def uses_repetition(version: Any) -> bool:
    """Whether a partner on `version` (GS08, e.g. 004010) gets an ISA11 repetition separator."""
    return str(version) >= REPETITION_FROM
X12_DEFAULTS: dict[str, Any] = {
    "version": "004010",
    "usage": "production",
    "ack_requested": False,
    "newline": True,
    "delimiter_in_data": "replace",
    "overlong": "truncate",
    "acknowledge": True,
}
_ERP_PATHS = {"bc.customer": ("bc", "customer"), "bc.vendor": ("bc", "vendor"), "gp.vendor": ("gp", "vendor")}
_SHOWN_KEYS = 20

__all__ = [
    "BY_KINDS",
    "Partner",
    "PartnerIndex",
    "check_claims",
    "check_partner",
    "erp_keys",
    "uses_repetition",
    "with_defaults",
]


@dataclass
class Partner:
    """One trading partner: `id` (the file stem), `data` (defaults applied), `source` (the
    file), `guide` (its compiled guide, `engine.guides`, when the file names one)."""

    id: str
    data: dict[str, Any]
    source: YamlSource = field(repr=False)
    guide: Guide | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The partner's name for people."""
        return str(self.data.get("name", self.id))

    @property
    def sender(self) -> str:
        """`QUALIFIER/ID` of the partner's ISA (the key of `x12.sender`)."""
        x12 = self.data["x12"]
        return f"{x12['qualifier']}/{x12['id']}"

    @property
    def routes(self) -> tuple[str, ...] | None:
        """The routes listed in the file, or None when the partner lists none (see
        `Project.takes_part`)."""
        routes = self.data.get("routes")
        return tuple(routes) if isinstance(routes, list) else None

    def exchanges(self, set_id: str, direction: str) -> bool:
        """Whether the partner lists `set_id` in `direction` (inbound/outbound; `both` counts)."""
        return any(
            str(t.get("set")) == set_id and t.get("direction") in (direction, "both")
            for t in self.data.get("transactions", [])
            if isinstance(t, dict)
        )

    def keys(self, by: str) -> list[str]:
        """The partner's keys of one kind (`bc.customer`, ..., `x12.sender`)."""
        if by == "x12.sender":
            return [self.sender]
        return erp_keys(self.data, by)


def erp_keys(data: Mapping[str, Any], by: str) -> list[str]:
    """The ERP keys of kind `by` in partner data (one text, or a list of them)."""
    system, role = _ERP_PATHS[by]
    erp = data.get("erp")
    section = erp.get(system) if isinstance(erp, dict) else None
    value = section.get(role) if isinstance(section, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def with_defaults(data: Mapping[str, Any], partner_id: str, identity: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of schema-valid partner data with every default filled in (module docstring)."""
    result = copy.deepcopy(dict(data))
    result["id"] = partner_id
    for key in ("erp", "xref", "overrides"):
        result.setdefault(key, {})
    result.setdefault("transactions", [])
    result["settings"] = dict(result["overrides"].get("settings") or {})
    x12 = result.setdefault("x12", {})
    for key, value in X12_DEFAULTS.items():
        x12.setdefault(key, value)
    if "id" in x12:
        x12.setdefault("application_id", x12["id"])
    x12["delimiters"] = {**DEFAULT_DELIMITERS, **(x12.get("delimiters") or {})}
    if not uses_repetition(x12["version"]):
        x12["delimiters"].pop("repetition")  # ISA11 is U: no repetition separator is written
    ours = dict(x12.get("identity") or identity or {})
    if "id" in ours:
        ours.setdefault("application_id", ours["id"])
    x12["identity"] = ours
    return result


def check_partner(data: Mapping[str, Any], source: YamlSource, stem: str) -> list[Finding]:
    """Checks beyond the schema: the id repeats the file stem, delimiters are distinct and not
    letters or digits, and every listed transaction set has a definition for the version."""
    findings: list[Finding] = []
    declared = data.get("id")
    if declared is not None and declared != stem:
        findings.append(
            Finding(source.where(("id",)), "partner-id", f"the file partners/{stem}.yaml is partner {stem!r}, but id says {declared!r}")
        )
    x12 = data.get("x12")
    if not isinstance(x12, dict):
        return findings
    chosen = x12.get("delimiters")
    written: dict[str, Any] = chosen if isinstance(chosen, dict) else {}
    delimiters = {**DEFAULT_DELIMITERS, **written}
    version = x12.get("version", X12_DEFAULTS["version"])
    if not uses_repetition(version):
        # Before 00501 ISA11 is U: no repetition separator is written, so none is checked.
        delimiters.pop("repetition")
        if "repetition" in written:
            findings.append(
                Finding(
                    source.where(("x12", "delimiters", "repetition")),
                    "partner-delimiter",
                    f"x12 version {version} writes no repetition separator (ISA11 is U before 00501): "
                    "the repetition delimiter is ignored; remove it",
                    "warning",
                )
            )
    seen: dict[str, str] = {}
    for role, char in delimiters.items():
        if not isinstance(char, str) or len(char) != 1:
            continue  # the schema reports it
        if char.isalnum() or char == " ":
            where = source.where(("x12", "delimiters", role))
            findings.append(Finding(where, "partner-delimiter", f"the {role} delimiter {char!r} is a letter, digit or space, which occur in data"))
        elif char in seen:
            other = seen[char]
            at = role if role in written else other  # point at a delimiter the file sets
            default = "" if role in written and other in written else " (default)"
            findings.append(
                Finding(
                    source.where(("x12", "delimiters", at)),
                    "partner-delimiter",
                    f"the {role} and {other} delimiters are both {char!r}{default}; the four delimiters must differ",
                )
            )
        seen.setdefault(char, role)
    findings.extend(_check_units(data, source, version))
    transactions = data.get("transactions")
    if isinstance(version, str) and isinstance(transactions, list):
        available = _available()
        for index, item in enumerate(transactions):
            set_id = item.get("set") if isinstance(item, dict) else None
            if isinstance(set_id, str) and (definitions.base_version(version), set_id) not in available:
                known = ", ".join(f"{v} {s}" for v, s in sorted(available))
                findings.append(
                    Finding(
                        source.where(("transactions", index, "set")),
                        "x12-no-definition",
                        f"transaction set {set_id} has no definition for version {version} (available: {known})",
                    )
                )
    return findings


def _check_units(data: Mapping[str, Any], source: YamlSource, version: Any) -> list[Finding]:
    """A warning for each X12 code of the `uom` table (X12 code -> ERP unit, what `x12_unit`
    reads) that is not an X12 355 code of the partner's version: a typo there would go out as
    it is. A warning, not an error: a partner may agree on codes of its own."""
    xref = data.get("xref")
    table = xref.get("uom") if isinstance(xref, dict) else None
    if not isinstance(table, dict) or not isinstance(version, str):
        return []
    codes = unit_codes(version)
    return [
        Finding(
            source.where(("xref", "uom", code), key=True),
            "partner-uom",
            f"xref uom: {code!r} is not an X12 {unit_list_version(version)} unit code (element 355); "
            "the table maps X12 codes (EA, CA, BX, ...) to ERP units",
            "warning",
        )
        for code in table
        if str(code) not in codes
    ]


@cache
def _available() -> frozenset[tuple[str, str]]:
    return frozenset(definitions.available())


class PartnerIndex:
    """Partners by each kind of key, built once; `find` raises, `get` returns None."""

    def __init__(self, partners: Iterable[Partner]) -> None:
        self.by: dict[str, dict[str, Partner]] = {kind: {} for kind in BY_KINDS}
        self._bare_ids: dict[str, list[Partner]] = {}
        for partner in partners:
            for kind in BY_KINDS:
                for key in partner.keys(kind):
                    self.by[kind].setdefault(key, partner)
            self._bare_ids.setdefault(str(partner.data["x12"]["id"]), []).append(partner)

    def get(self, by: str, key: str) -> Partner | None:
        """The partner with key `key` of kind `by`, or None (an unknown kind is a ConfigError)."""
        table = self._table(by)
        key = key.strip()
        if by == "x12.sender":
            if "/" in key:
                qualifier, _, ident = key.partition("/")
                key = f"{qualifier.strip()}/{ident.strip()}"
            else:
                found = self._bare_ids.get(key, [])
                if len(found) > 1:
                    senders = ", ".join(sorted(p.sender for p in found))
                    raise ConfigError(f"the ISA id {key!r} belongs to several partners ({senders}); give QUALIFIER/ID")
                return found[0] if found else None
        return table.get(key)

    def find(self, by: str, key: str) -> Partner:
        """The partner with key `key` of kind `by`; a ConfigError naming what was looked for
        and the known keys of that kind otherwise."""
        found = self.get(by, key)
        if found is None:
            known = sorted(self._table(by))
            shown = ", ".join(known[:_SHOWN_KEYS]) + (f", ... ({len(known) - _SHOWN_KEYS} more)" if len(known) > _SHOWN_KEYS else "")
            raise ConfigError(f"no partner has {by} {key!r} (known {by} keys: {shown or 'none'})")
        return found

    def _table(self, by: str) -> dict[str, Partner]:
        try:
            return self.by[by]
        except KeyError:
            raise ConfigError(f"unknown partner key kind {by!r}; valid: {', '.join(BY_KINDS)}") from None


def check_claims(partners: Iterable[Partner]) -> list[Finding]:
    """Two partners with the same ISA qualifier+id, or claiming the same ERP key: reported at
    the later file (in id order), naming the earlier one."""
    findings: list[Finding] = []
    owners: dict[tuple[str, str], Partner] = {}
    for partner in sorted(partners, key=lambda p: p.id):
        for kind in BY_KINDS:
            for index, key in enumerate(partner.keys(kind)):
                first = owners.setdefault((kind, key), partner)
                if first is partner:
                    continue
                if kind == "x12.sender":
                    pointer: tuple[str | int, ...] = ("x12", "id")
                    message = f"partner {partner.id!r} has the ISA qualifier/id {key} of partner {first.id!r} ({first.source.path})"
                    code = "duplicate-partner"
                else:
                    system, role = _ERP_PATHS[kind]
                    pointer = ("erp", system, role)
                    if isinstance(partner.source.data.get("erp", {}).get(system, {}).get(role), list):
                        pointer = (*pointer, index)
                    message = f"{kind} {key!r} is claimed by partner {first.id!r} ({first.source.path}) and by {partner.id!r}"
                    code = "duplicate-erp-key"
                findings.append(Finding(partner.source.where(pointer), code, f"{label(pointer)}: {message}"))
    return findings
