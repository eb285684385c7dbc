"""engine.config names its public API in a sorted `__all__`, every name importable."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_package_is_the_file_layer_below_the_mapping_engine() -> None:
    # engine.mapping and engine.guides read their files through engine.config; the project
    # loader that compiles them is engine.config.project, which the package does not import
    probe = "import sys, engine.config; print(sorted(m for m in sys.modules if m.startswith(('engine.mapping', 'engine.guides', 'engine.config.project', 'engine.config.route'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
