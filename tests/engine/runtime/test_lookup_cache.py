"""Reference data read for lookups is shared by the documents of a poll and read again once it
is older than the cache's age, so a long-running service sees changes in the ERP."""

from __future__ import annotations

from runtime_fakes import FakeRecords, FakeSystems

from engine.runtime.lookups import MISSING, LookupCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_record_is_read_once_while_it_is_fresh_and_again_when_it_is_old() -> None:
    bc = FakeRecords({"items": [{"number": "1896-S", "displayName": "ATHENS Desk"}]})
    clock = Clock()
    cache = LookupCache(max_age_seconds=300, clock=clock)
    systems = FakeSystems(bc=bc)

    first = [cache.get(systems, "bc", "items", "1896-S") for _ in range(5)]  # type: ignore[arg-type]
    clock.now = 301
    bc.records["items"][0]["displayName"] = "ATHENS Desk, renamed"
    later = cache.get(systems, "bc", "items", "1896-S")  # type: ignore[arg-type]

    assert [call[:3] for call in bc.calls] == [("get", "items", "1896-S")] * 2
    assert first[0]["displayName"] == "ATHENS Desk" and later["displayName"] == "ATHENS Desk, renamed"


def test_a_missing_key_is_remembered_as_missing_and_found_once_the_erp_has_it() -> None:
    bc = FakeRecords({"items": []})
    clock = Clock()
    cache = LookupCache(max_age_seconds=300, clock=clock)
    systems = FakeSystems(bc=bc)

    assert cache.get(systems, "bc", "items", "NEW-1") is MISSING  # type: ignore[arg-type]
    assert cache.get(systems, "bc", "items", "NEW-1") is MISSING  # type: ignore[arg-type]
    bc.records["items"].append({"number": "NEW-1"})
    clock.now = 300

    assert cache.get(systems, "bc", "items", "NEW-1")["number"] == "NEW-1"  # type: ignore[arg-type]
    assert len(bc.calls) == 2
