"""Translated expressions give what Jinja gives: the same value, or the same error message.

Every expression is evaluated both ways (`Value.evaluate`, which runs the translated Python
first, and `Value.evaluate_jinja`, Jinja alone) over contexts where the fields are present, absent,
None, of another type, so the fallback to Jinja is exercised as much as the Python.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import MappingError
from engine.mapping.templates import LoopInfo, Value, base_context

EXPRESSIONS = [
    "{{ doc.number }}",
    "{{ doc.a.b.c }}",
    "{{ doc.customerPurchaseOrderReference or doc.externalDocumentNumber }}",
    "{{ doc.currencyCode and doc.currencyCode != 'USD' }}",
    "{{ doc.number if doc.flag else 'none' }}",
    "{{ 'BP' if line.item | xref('items', reverse=true, default='') else '' }}",
    "{{ line.item | xref('items', reverse=true, default='') }}",
    "{{ line.uom | xref('uom', reverse=true, default=line.uom | code({'PCS': 'EA', 'BOX': 'BX'}, default='EA')) }}",
    "{{ line.uom | code({'PCS': 'EA'}) }}",
    "{{ line.item | xref('items') }}",
    "{{ loop.index }}",
    "{{ loop.first and loop.last }}",
    "{{ loop.revindex * 2 - loop.index0 }}",
    "{{ loop.nothing }}",
    "{{ count('IT1') }}",
    "{{ total('IT102') }}",
    "{{ fail('no ship-to') }}",
    "{{ partner.settings.remit_to_name | default('CRONUS') }}",
    "{{ partner.settings.missing.deeper | default('x') }}",
    "{{ doc.qty - doc.canceled | default(0, true) > 0 }}",
    "{{ doc.a.b | default('x') }}",
    "{{ doc.canceled | default(0) }}",
    "{{ doc.canceled | default(0, false) }}",
    "{{ doc.canceled | d }}",
    "{{ doc.list.first | default('none') }}",
    "{{ loop.index | default(0) }}",
    "{{ doc.DTM | default([]) | qualified('DTM01', '002', 'DTM02') }}",
    "{{ doc.N1_loop | where('N1.N101', 'ST') | dig('0.N1.N102') }}",
    "{{ doc.N1_loop | where('N1.N101', 'ST') }}",
    "{{ doc.PO1 | product_id('BP') or doc.PO1['BP product id'] | string }}",
    "{{ doc.PO1.PO102 | number }}",
    "{{ doc.number | number }}",
    "{{ doc.qty | number }}",
    "{{ doc.text | number }}",
    "{{ doc.date | iso_date }}",
    "{{ none if not doc.date or doc.date[:10] == '1900-01-01' else doc.date }}",
    "{{ doc.list[0] }}",
    "{{ doc.list.1 }}",
    "{{ doc['number'] }}",
    "{{ doc.items }}",
    "{{ doc.number ~ '-' ~ doc.qty }}",
    "{{ doc.number ~ ' (see _f_dig(c)) ' ~ doc.number }}",
    "PO ({{ doc.number }})",
    "{{ doc.qty / 4 }}",
    "{{ doc.qty // 4 + doc.qty % 4 ** 2 }}",
    "{{ -doc.qty }}",
    "{{ doc.number in ['1', '2'] }}",
    "{{ doc.number not in ('1', '2') }}",
    "{{ {'a': doc.number} }}",
    "{{ doc.number | upper | trim }}",
    "{{ doc.number is defined }}",
    "{{ doc.nothing is defined }}",
    "{{ doc.number | length }}",
    "{{ doc.text | replace('a', 'b') }}",
    "{{ doc.list | join(',') }}",
    "{{ doc.number | int + 1 }}",
    "{{ doc.qty | round(1) }}",
    "{{ undefined_name }}",
    "{{ undefined_name | default('d') }}",
    "{{ doc.__class__ }}",
    "{{ doc.text.upper() }}",
    "{{ doc.number }}-{{ doc.qty }}",
    "PO {{ doc.number }} of {{ doc.nothing }}",
    "{{ doc.text.strip('0 ') }}",
    "{{ doc.text.isdigit() and doc.text[:2] }}",
    "{{ '{}-{}'.format(doc.number, doc.qty) }}",
    "{{ '%s/%s' % (doc.number, doc.qty) }}",
    "{{ doc.number * 2 }}",
    "{{ doc.qty ** 2 }}",
    "{{ doc.list | first }}",
    "{{ doc.list | last | default('none') }}",
    "{{ doc.nothing | where('N1.N101', 'ST') | length }}",
    "{{ doc.list | list | length }}",
    "{{ range(3) | list }}",
    "{{ doc.items.upper() }}",
    "{{ doc.__class__.__name__ }}",
]

DOCS: list[Any] = [
    {
        "number": "103001",
        "customerPurchaseOrderReference": "",
        "externalDocumentNumber": "EXT-1",
        "currencyCode": "CAD",
        "flag": True,
        "qty": 10,
        "canceled": None,
        "a": {"b": {"c": 3}},
        "DTM": [{"DTM01": "002", "DTM02": "20240617"}],
        "N1_loop": [{"N1": {"N101": "BY"}}, {"N1": {"N101": "ST", "N102": "DC 7"}}],
        "PO1": {"PO101": "1", "PO102": "5", "PO106": "BP", "PO107": "AC-DESK-01"},
        "date": "20240603",
        "list": ["x", "y"],
        "text": " 12 ",
        "items": "a field called items",
    },
    {"number": 42, "qty": 7.5, "canceled": 2, "a": {"b": None}, "date": "", "list": [], "text": "", "currencyCode": "USD"},
    {"number": None, "qty": "3", "a": [], "N1_loop": None, "DTM": {"DTM01": "002", "DTM02": "20241301"}, "PO1": {}},
    {},
    {"number": "", "flag": False, "date": "1900-01-01T00:00:00", "list": "ab", "PO1": {"PO106": "VP", "PO107": "X"}},
]

PARTNERS: list[Any] = [
    {"id": "acme", "xref": {"items": {"AC-DESK-01": "1896-S"}, "uom": {"EA": "PCS"}}, "settings": {"remit_to_name": "Us"}},
    {"id": "bare", "settings": {}},
]

LINES: list[Any] = [
    {"item": "1896-S", "uom": "PCS"},
    {"item": "9999", "uom": "BOX"},
    {"item": None, "uom": "KG"},
    {},
    "not an object",
]


class _State:
    def __init__(self) -> None:
        self.unresolved: list[tuple[str, str]] = []

    def count(self, tag: str) -> int:
        return len(tag)

    def total(self, element: str) -> float:
        return 2.5


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        value = call()
        return "value", (type(value).__name__, repr(value))  # repr: a dict may hold an Undefined
    except MappingError as exc:
        return "error", exc.message


def _contexts() -> list[dict[str, Any]]:
    contexts = []
    for doc in DOCS:
        for partner in PARTNERS:
            for index, line in enumerate(LINES):
                state = _State()
                contexts.append(
                    base_context(
                        doc=doc,
                        partner=partner,
                        line=line,
                        loop=LoopInfo(index, len(LINES)),
                        count=state.count,
                        total=state.total,
                        _state=state,
                    )
                )
    return contexts


@pytest.mark.parametrize("text", [pytest.param(text, id=text) for text in EXPRESSIONS])
def test_a_translated_expression_gives_what_jinja_gives(text: str) -> None:
    value = Value(text, "mappings/m/mapping.yaml:7 (IT101)")
    for context in _contexts():
        slow_state = context["_state"]
        fast_context = dict(context, _state=_State())
        expected = _outcome(lambda: value.evaluate_jinja(context))  # noqa: B023
        assert _outcome(lambda: value.evaluate(fast_context)) == expected, (text, context["doc"], context["line"])  # noqa: B023
        assert sorted(set(fast_context["_state"].unresolved)) == sorted(set(slow_state.unresolved))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{{ doc.number }}", id="path"),
        pytest.param("{{ a or b }}", id="or"),
        pytest.param("{{ x if c else y }}", id="conditional"),
        pytest.param("{{ a != 'USD' }}", id="comparison"),
        pytest.param("{{ loop.index }}", id="loop-index"),
        pytest.param("{{ count('IT1') }}", id="engine-function"),
        pytest.param("{{ a | xref('uom', reverse=true, default=a | code({'PCS': 'EA'}, default='EA')) }}", id="filters"),
        pytest.param("{{ a.b | default('x') }}", id="default"),
        pytest.param("{{ a }}-{{ b }}", id="template"),
        pytest.param("{{ a.strip('0') }}", id="method"),
        pytest.param("{{ a | where('b', 'c') | first }}", id="undefined-checked-filter"),
        pytest.param("{{ a * 2 ** 3 % 5 }}", id="bounded-operators"),
    ],
)
def test_the_common_shapes_are_translated(text: str) -> None:
    assert Value(text, "here").fast is not None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{{ hl() }}", id="side-effect-call"),
        pytest.param("{{ a if b }}", id="if-without-else"),
        pytest.param("{{ a | map('upper') }}", id="jinja-context-filter"),
        pytest.param("{% if a %}x{% endif %}", id="statement"),
        pytest.param("{{ namespace(a=1) }}", id="other-call"),
        pytest.param("{{ a | first(1, *b) }}", id="star-arguments"),
    ],
)
def test_other_shapes_stay_on_jinja(text: str) -> None:
    value = Value(text, "here")
    assert value.fast is None
