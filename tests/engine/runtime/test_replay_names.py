"""A replayed document is sent under a versioned name (the partner may hold the first file) and
its render is stored under a versioned role; the generation is the number of replay events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.runtime import Runtime
from engine.runtime.documents import output_role, replay_generation, versioned_name

MakeRuntime = Callable[..., Runtime]


@pytest.mark.parametrize(
    ("name", "generation", "expected"),
    [
        pytest.param("810_acme_103001.edi", 0, "810_acme_103001.edi", id="first-render-keeps-the-name"),
        pytest.param("810_acme_103001.edi", 1, "810_acme_103001.r1.edi", id="first-replay"),
        pytest.param("810_acme_103001.edi", 12, "810_acme_103001.r12.edi", id="twelfth-replay"),
        pytest.param("po_initech_PO2102.json", 2, "po_initech_PO2102.r2.json", id="json-payload"),
        pytest.param("vendor_initech_INITECH0001_2024-05-03T083000.json", 1, "vendor_initech_INITECH0001_2024-05-03T083000.r1.json", id="dashes-in-the-stem"),
        pytest.param("850_acme_S-ORD.101001.edi", 1, "850_acme_S-ORD.101001.r1.edi", id="dot-in-the-document-number"),
        pytest.param("OUTBOUND", 1, "OUTBOUND.r1", id="no-suffix"),
    ],
)
def test_a_replayed_file_name_carries_the_replay_number_before_its_suffix(name: str, generation: int, expected: str) -> None:
    assert versioned_name(name, generation) == expected


@pytest.mark.parametrize(
    ("generation", "role"),
    [pytest.param(0, "output", id="first-render"), pytest.param(1, "output.r1", id="first-replay"), pytest.param(3, "output.r3", id="third-replay")],
)
def test_each_render_is_stored_under_its_own_artifact_role(generation: int, role: str) -> None:
    assert output_role(generation) == role


def test_the_generation_counts_the_jobs_replay_events_only(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    job, _ = runtime.store.enqueue("bc-invoices-to-810", "103001", kind="document", partner="acme")
    other, _ = runtime.store.enqueue("bc-invoices-to-810", "103002", kind="document", partner="contoso")
    for event in ("render", "upload", "done", "replay", "render", "replay"):
        runtime.audit(job, event)
    runtime.audit(other, "replay")

    assert replay_generation(runtime.store, job) == 2
    assert replay_generation(runtime.store, other) == 1
