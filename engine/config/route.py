"""Routes (`schedules/<name>.yaml`): checked and compiled once, at load.

`compile_route` checks what the schema cannot (Jinja syntax and unknown filters, JSONPath,
crontab expressions through APScheduler 3's `CronTrigger.from_crontab`, intervals, time zones,
a `partner:` selection on a Cleo source, a filter written without `{{ }}`) and compiles every
template into a `Value` and every lookup JSONPath with jsonpath-ng, so the runtime evaluates
without parsing anything again.

A crontab's day-of-week must be written with names (`mon`, `sun`, `mon-fri`): APScheduler 3
reads `0` as Monday where crontab means Sunday, so digits there are refused (`cron-weekday`)
rather than silently scheduled on the wrong day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.mapping import templates
from engine.mapping.templates import TemplateCompiler, Value

__all__ = ["Lookup", "Route", "compile_route"]

_INTERVAL_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass
class Lookup:
    """Reference data for the mapping: `lookups.<name>` (one record, or one per `for_each` match)."""

    name: str
    connection: str
    entity: str
    key: Value
    for_each: Any | None = None
    """A compiled jsonpath-ng expression over the document, or None for one record."""


@dataclass
class Route:
    """One route: `data` as written (interpolated), `source` (the file), compiled values.

    `filter`, `key`, `partner_key`, `target_filename` and `target_match` are None when the
    route does not have them. `source_kind` is `entity` (an ERP entity set) or `folder` (the
    partners' Cleo inboxes); `target_kind` is `folder`, `entity` or `store`.
    """

    name: str
    data: dict[str, Any]
    source: YamlSource = field(repr=False)
    filter: Value | None = None
    key: Value | None = None
    partner_by: str | None = None
    partner_key: Value | None = None
    target_filename: Value | None = None
    target_match: Value | None = None
    target_locked: Value | None = None
    """target.locked.when: a template over `record` (the ERP record as read) that is true when
    the record takes only the `locked.allows` fields."""
    lookups: dict[str, Lookup] = field(default_factory=dict)
    require: dict[str, Any] = field(default_factory=dict)
    """target.require: entity set -> compiled JSONPath over the mapped output (the keys that must exist)."""

    @property
    def settings(self) -> dict[str, Any]:
        """The route's `settings:` (named values its filter and keys read as `settings.NAME`)."""
        return dict(self.data.get("settings") or {})

    def context(self, **variables: Any) -> dict[str, Any]:
        """The context the route's filter, partner key and key are evaluated in: `variables`
        (the source document as `doc`) and the route's `settings`."""
        return templates.base_context(settings=self.settings, **variables)

    @property
    def mapping(self) -> str:
        """The mapping named by the route (a partner override may replace it)."""
        return str(self.data["mapping"])

    @property
    def source_kind(self) -> str:
        """`folder` for Cleo inbox sources, `entity` for ERP entity sets."""
        return "folder" if "folder" in self.data["source"] else "entity"

    @property
    def target_kind(self) -> str:
        """`folder` (partner outbox), `store` (the engine's state store) or `entity` (ERP write)."""
        target = self.data["target"]
        return "folder" if "folder" in target else "store" if "store" in target else "entity"

    @property
    def triggers(self) -> list[dict[str, Any]]:
        """The triggers as written: `{webhook: {...}}`, `{cron: "...", timezone?}`, `{interval: {...}, timezone?}`."""
        return list(self.data["triggers"])


class _Compiler(TemplateCompiler):
    def __init__(self, source: YamlSource) -> None:
        super().__init__(source)
        self.templates = templates

    def value(self, raw: Any, pointer: Pointer, label: str) -> Value | None:
        if not isinstance(raw, str):
            return None  # missing (None) or the wrong type, which the schema reports
        return self.compile_value(raw, pointer, label)

    def path(self, raw: Any, pointer: Pointer) -> Any | None:
        if not isinstance(raw, str):
            return None
        problems = self.templates.check_jsonpath(raw, self.source, pointer)
        if problems:
            self.findings.extend(problems)
            return None
        return self.templates.compile_jsonpath(raw)

    def triggers(self, triggers: Any) -> None:
        if not isinstance(triggers, list):
            return
        for index, trigger in enumerate(triggers):
            if not isinstance(trigger, dict):
                continue
            zone = trigger.get("timezone")
            if isinstance(zone, str):
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    self.find(("triggers", index, "timezone"), "timezone-unknown", f"unknown time zone {zone!r} (an IANA name such as UTC or America/Chicago)")
                    zone = None
            cron = trigger.get("cron")
            if isinstance(cron, str):
                self.cron(cron, ("triggers", index, "cron"), zone if isinstance(zone, str) else "UTC")
            interval = trigger.get("interval")
            if isinstance(interval, dict):
                total = sum(v * _INTERVAL_SECONDS.get(k, 0) for k, v in interval.items() if isinstance(v, int) and not isinstance(v, bool))
                if total <= 0:
                    self.find(("triggers", index, "interval"), "interval-invalid", "an interval must be longer than zero, e.g. {minutes: 5}")

    def cron(self, expression: str, pointer: Pointer, zone: str) -> None:
        try:
            CronTrigger.from_crontab(expression, timezone=zone)
        except (ValueError, TypeError) as exc:
            self.find(pointer, "cron-invalid", f"invalid crontab {expression!r}: {exc} (5 fields: minute hour day month day-of-week)")
            return
        weekday = expression.split()[4]
        if re.search(r"\d", weekday):
            self.find(
                pointer,
                "cron-weekday",
                f"write the day of week of {expression!r} with names (sun, mon-fri): APScheduler 3 reads 0 as Monday, crontab as Sunday",
            )


def compile_route(source: YamlSource, stem: str) -> tuple[Route | None, list[Finding]]:
    """Check and compile one route file (already interpolated); every problem is returned.

    The route is returned only when this step found nothing; the schema is checked apart
    (`engine.config.schema.check`), and this function tolerates data the schema refuses.
    """
    compiler = _Compiler(source)
    data = source.data
    if not isinstance(data, dict):
        return None, []
    name = data.get("name", stem)
    route = Route(str(name), data, source)
    compiler.triggers(data.get("triggers"))
    filter_text = data.get("filter")
    if isinstance(filter_text, str) and not compiler.templates.is_template(filter_text):
        compiler.find(
            ("filter",), "route-filter", f"the filter {filter_text!r} is literal text, always true: write a Jinja expression such as \"{{{{ {filter_text} }}}}\""
        )
    else:
        route.filter = compiler.value(filter_text, ("filter",), "filter")
    route.key = compiler.value(data.get("key"), ("key",), "key")
    selection = data.get("partner")
    source_spec = data.get("source")
    if isinstance(selection, dict):
        if isinstance(source_spec, dict) and "folder" in source_spec:
            compiler.find(
                ("partner",),
                "route-partner",
                "a route reading Cleo folders finds the partner by its folder and ISA sender; remove partner:",
            )
        by = selection.get("by")
        route.partner_by = by if isinstance(by, str) else None
        route.partner_key = compiler.value(selection.get("key"), ("partner", "key"), "partner.key")
    target = data.get("target")
    if isinstance(target, dict):
        route.target_filename = compiler.value(target.get("filename"), ("target", "filename"), "target.filename")
        route.target_match = compiler.value(target.get("match"), ("target", "match"), "target.match")
        locked = target.get("locked")
        if isinstance(locked, dict):
            route.target_locked = compiler.value(locked.get("when"), ("target", "locked", "when"), "target.locked.when")
        required = target.get("require")
        if isinstance(required, dict):
            for entity, path_text in required.items():
                compiled = compiler.path(path_text, ("target", "require", entity))
                if compiled is not None:
                    route.require[str(entity)] = compiled
    lookups = data.get("lookups")
    if isinstance(lookups, dict):
        for name_, spec in lookups.items():
            if not isinstance(spec, dict):
                continue
            pointer: Pointer = ("lookups", name_)
            key = compiler.value(spec.get("key"), (*pointer, "key"), f"lookups.{name_}.key")
            path = compiler.path(spec.get("for_each"), (*pointer, "for_each")) if "for_each" in spec else None
            if key is not None and isinstance(spec.get("connection"), str) and isinstance(spec.get("entity"), str):
                route.lookups[str(name_)] = Lookup(str(name_), spec["connection"], spec["entity"], key, path)
    if compiler.findings:
        return None, compiler.findings
    return route, []
