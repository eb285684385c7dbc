"""Routes (`schedules/<name>.yaml`): checked, compiled and typed once, at load.

`compile_route` checks what the schema cannot (Jinja syntax and unknown filters, JSONPath,
crontab expressions through APScheduler 3's `CronTrigger.from_crontab`, intervals, time zones,
a `partner:` selection on a Cleo source, a filter written without `{{ }}`) and compiles every
template into a `Value` and every lookup JSONPath with jsonpath-ng, so the runtime evaluates
without parsing anything again.

A route's `source` and `target` are typed, one class per kind the schema allows
(route.schema.json):

    source:  EntitySource   an ERP entity set read by changes (connection, entity, expand, cursor)
             FolderSource   the partners' Cleo inboxes (connection, folder, sets)
    target:  FolderTarget   a file in the partner's outbox (connection, folder, filename)
             EntityTarget   an ERP create or update (unique, match, locked, acknowledgment, require)
             StoreTarget    the engine's own store (inbound 997s matched to our groups)

A crontab's day-of-week must be written with names (`mon`, `sun`, `mon-fri`): APScheduler 3
reads `0` as Monday where crontab means Sunday, so digits there are refused (`cron-weekday`)
rather than silently scheduled on the wrong day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from engine.config.lint import Finding
from engine.config.source import Pointer, YamlSource
from engine.mapping import templates
from engine.mapping.templates import TemplateCompiler, Value

__all__ = [
    "AcknowledgmentFields",
    "EntitySource",
    "EntityTarget",
    "FolderSource",
    "FolderTarget",
    "Locked",
    "Lookup",
    "Route",
    "StoreTarget",
    "compile_route",
]

_INTERVAL_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class Lookup:
    """Reference data for the mapping: `lookups.<name>` (one record, or one per `for_each` match)."""

    name: str
    connection: str
    entity: str
    key: Value
    for_each: Any | None = None
    """A compiled jsonpath-ng expression over the document, or None for one record."""


@dataclass(frozen=True)
class EntitySource:
    """`source: {connection, entity, expand?, cursor?}`: records of an ERP entity set changed
    since the route's cursor."""

    kind: ClassVar[str] = "entity"
    connection: str
    entity: str
    expand: str | None = None
    """Navigation properties read with each record, comma-separated (`salesInvoiceLines`)."""
    cursor: str | None = None
    """The watermark field (`lastModifiedDateTime`); None: every poll reads every record."""


@dataclass(frozen=True)
class FolderSource:
    """`source: {connection, folder: inbox, sets?}`: files in the inbox of every partner taking
    part in the route."""

    kind: ClassVar[str] = "folder"
    connection: str
    folder: str
    """The partner folder read (its `cleo.inbox`): `inbox`."""
    sets: tuple[str, ...] | None = None
    """The transaction sets the route takes from the files; None: its mapping's set."""


@dataclass(frozen=True)
class FolderTarget:
    """`target: {connection, folder: outbox, filename}`: a file in the partner's outbox."""

    kind: ClassVar[str] = "folder"
    connection: str
    folder: str
    """The partner folder written (its `cleo.outbox`): `outbox`."""
    filename: Value


@dataclass(frozen=True)
class Locked:
    """`target.locked`: when the record as read takes only some fields."""

    when: Value
    """A template over `record` (as read), `output` and `partner`, true when the record is locked."""
    allows: frozenset[str]
    reason: str | None = None


@dataclass(frozen=True)
class AcknowledgmentFields:
    """`target.acknowledgment`: the line fields holding what an acknowledgment is compared on."""

    quantity: str | None = None
    price: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class EntityTarget:
    """`target: {connection, entity, operation, ...}`: an ERP write, a create or an update."""

    kind: ClassVar[str] = "entity"
    connection: str
    entity: str
    operation: str
    """`create` or `update`."""
    unique: tuple[str, ...] = ()
    """create: the payload fields a record is looked up by before it is created."""
    match: Value | None = None
    """update: the key of the record to update (the schema requires it there)."""
    locked: Locked | None = None
    acknowledgment: AcknowledgmentFields | None = None
    require: dict[str, Any] = field(default_factory=dict)
    """Entity set -> compiled JSONPath over the mapped output (the keys that must exist)."""


@dataclass(frozen=True)
class StoreTarget:
    """`target: {store: acknowledgments}`: the engine's own state store."""

    kind: ClassVar[str] = "store"
    store: str


Source = EntitySource | FolderSource
Target = FolderTarget | EntityTarget | StoreTarget


@dataclass(frozen=True)
class Route:
    """One route, compiled: its typed source and target, its mapping, triggers and settings.

    `filter`, `key` and `partner_key` are None when the route does not have them.
    """

    name: str
    file: YamlSource = field(repr=False)
    """The route file as read (interpolated)."""
    mapping: str
    """The mapping named by the route (a partner override may replace it)."""
    source: Source
    target: Target
    triggers: list[dict[str, Any]] = field(default_factory=list)
    """The triggers as written: `{webhook: {...}}`, `{cron: "...", timezone?}`, `{interval: {...}, timezone?}`."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The route's `settings:` (named values its filter and keys read as `settings.NAME`)."""
    filter: Value | None = None
    key: Value | None = None
    partner_by: str | None = None
    partner_key: Value | None = None
    lookups: dict[str, Lookup] = field(default_factory=dict)

    def context(self, **variables: Any) -> dict[str, Any]:
        """The context the route's filter, partner key and key are evaluated in: `variables`
        (the source document as `doc`) and the route's `settings`."""
        return templates.base_context(settings=dict(self.settings), **variables)


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


class _Untyped(Exception):
    """The route's data is not what the schema allows: it is not typed (the schema check says why)."""


def _text(spec: dict[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str):
        raise _Untyped(name)
    return value


def _optional_text(spec: dict[str, Any], name: str) -> str | None:
    return None if spec.get(name) is None else _text(spec, name)


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Untyped(value)
    return tuple(value)


def _source(spec: Any) -> Source:
    if not isinstance(spec, dict):
        raise _Untyped("source")
    if "folder" in spec:
        sets = spec.get("sets")
        return FolderSource(_text(spec, "connection"), _text(spec, "folder"), _texts(sets) if sets is not None else None)
    expand = spec.get("expand")
    if isinstance(expand, list):
        expand = ",".join(_texts(expand))
    elif expand is not None and not isinstance(expand, str):
        raise _Untyped("expand")
    return EntitySource(_text(spec, "connection"), _text(spec, "entity"), expand, _optional_text(spec, "cursor"))


@dataclass
class _TargetValues:
    """What of `target:` is compiled (whatever its kind, so every problem is found)."""

    filename: Value | None = None
    match: Value | None = None
    locked_when: Value | None = None
    require: dict[str, Any] = field(default_factory=dict)


def _compile_target(spec: Any, compiler: _Compiler) -> _TargetValues:
    compiled = _TargetValues()
    if not isinstance(spec, dict):
        return compiled
    compiled.filename = compiler.value(spec.get("filename"), ("target", "filename"), "target.filename")
    compiled.match = compiler.value(spec.get("match"), ("target", "match"), "target.match")
    locked = spec.get("locked")
    if isinstance(locked, dict):
        compiled.locked_when = compiler.value(locked.get("when"), ("target", "locked", "when"), "target.locked.when")
    required = spec.get("require")
    if isinstance(required, dict):
        for entity, path_text in required.items():
            path = compiler.path(path_text, ("target", "require", entity))
            if path is not None:
                compiled.require[str(entity)] = path
    return compiled


def _target(spec: Any, compiled: _TargetValues) -> Target:
    if not isinstance(spec, dict):
        raise _Untyped("target")
    if "folder" in spec:
        if compiled.filename is None:
            raise _Untyped("filename")
        return FolderTarget(_text(spec, "connection"), _text(spec, "folder"), compiled.filename)
    if "store" in spec:
        return StoreTarget(_text(spec, "store"))
    locked = None
    if "locked" in spec:
        if compiled.locked_when is None or not isinstance(spec["locked"], dict):
            raise _Untyped("locked")
        written = spec["locked"]
        locked = Locked(compiled.locked_when, frozenset(_texts(written.get("allows"))), _optional_text(written, "reason"))
    acknowledgment = None
    if "acknowledgment" in spec:
        fields = spec["acknowledgment"]
        if not isinstance(fields, dict):
            raise _Untyped("acknowledgment")
        acknowledgment = AcknowledgmentFields(*(_optional_text(fields, name) for name in ("quantity", "price", "date")))
    unique = spec.get("unique")
    return EntityTarget(
        _text(spec, "connection"),
        _text(spec, "entity"),
        _text(spec, "operation"),
        unique=(unique,) if isinstance(unique, str) else _texts(unique) if unique is not None else (),
        match=compiled.match,
        locked=locked,
        acknowledgment=acknowledgment,
        require=compiled.require,
    )


def compile_route(source: YamlSource, stem: str) -> tuple[Route | None, list[Finding]]:
    """Check, compile and type one route file (already interpolated); every problem is returned.

    The route is returned only when this step found nothing and its data is what the schema
    allows; the schema is checked apart (`engine.config.schema.check`), and this function
    tolerates data the schema refuses (it returns no route for it, and no finding of its own).
    """
    compiler = _Compiler(source)
    data = source.data
    if not isinstance(data, dict):
        return None, []
    name = str(data.get("name", stem))
    compiler.triggers(data.get("triggers"))
    filter_text = data.get("filter")
    filter_value = None
    if isinstance(filter_text, str) and not compiler.templates.is_template(filter_text):
        compiler.find(
            ("filter",), "route-filter", f"the filter {filter_text!r} is literal text, always true: write a Jinja expression such as \"{{{{ {filter_text} }}}}\""
        )
    else:
        filter_value = compiler.value(filter_text, ("filter",), "filter")
    key = compiler.value(data.get("key"), ("key",), "key")
    selection = data.get("partner")
    source_spec = data.get("source")
    partner_by, partner_key = None, None
    if isinstance(selection, dict):
        if isinstance(source_spec, dict) and "folder" in source_spec:
            compiler.find(
                ("partner",),
                "route-partner",
                "a route reading Cleo folders finds the partner by its folder and ISA sender; remove partner:",
            )
        by = selection.get("by")
        partner_by = by if isinstance(by, str) else None
        partner_key = compiler.value(selection.get("key"), ("partner", "key"), "partner.key")
    target_values = _compile_target(data.get("target"), compiler)
    lookups: dict[str, Lookup] = {}
    written_lookups = data.get("lookups")
    if isinstance(written_lookups, dict):
        for name_, spec in written_lookups.items():
            if not isinstance(spec, dict):
                continue
            pointer: Pointer = ("lookups", name_)
            lookup_key = compiler.value(spec.get("key"), (*pointer, "key"), f"lookups.{name_}.key")
            path = compiler.path(spec.get("for_each"), (*pointer, "for_each")) if "for_each" in spec else None
            if lookup_key is not None and isinstance(spec.get("connection"), str) and isinstance(spec.get("entity"), str):
                lookups[str(name_)] = Lookup(str(name_), spec["connection"], spec["entity"], lookup_key, path)
    if compiler.findings:
        return None, compiler.findings
    triggers, settings, mapping = data.get("triggers"), data.get("settings"), data.get("mapping")
    if not isinstance(triggers, list) or not isinstance(mapping, str) or not isinstance(settings, dict | None):
        return None, []
    try:
        typed_source, target = _source(source_spec), _target(data.get("target"), target_values)
    except _Untyped:
        return None, []
    return Route(
        name,
        source,
        mapping,
        typed_source,
        target,
        triggers=[dict(trigger) for trigger in triggers if isinstance(trigger, dict)],
        settings=dict(settings or {}),
        filter=filter_value,
        key=key,
        partner_by=partner_by,
        partner_key=partner_key,
        lookups=lookups,
    ), []
