"""engine.config names its public API in a sorted `__all__`, every name importable."""

from __future__ import annotations

import engine.config


def test_public_api_is_sorted_and_importable() -> None:
    names = engine.config.__all__
    # isort order, as ruff's RUF022 sorts: CONSTANTS, then Classes, then functions
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(engine.config, name), name


def test_importing_the_mapping_engine_first_does_not_break_the_config_package() -> None:
    import engine.mapping.templates  # noqa: F401  (engine.mapping imports engine.config modules)
    from engine.config import route

    assert route.compile_route.__doc__
