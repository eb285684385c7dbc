from __future__ import annotations

import engine.mapping


def test_the_public_api_is_sorted_and_importable() -> None:
    names = engine.mapping.__all__
    assert names == sorted(names)
    assert all(hasattr(engine.mapping, name) for name in names)
