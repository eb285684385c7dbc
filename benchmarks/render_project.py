"""Load and validate a generated project of many partners and routes (see benchmarks/render.py)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import yaml


def generate(root: Path, target: Path, partners: int, routes: int) -> None:
    """A copy of the project at `root` with `partners` partner files and `routes` route files."""
    shutil.copy(root / "connections.yaml", target / "connections.yaml")
    shutil.copytree(root / "mappings", target / "mappings", ignore=shutil.ignore_patterns("cases"))
    if (root / "guides").is_dir():
        shutil.copytree(root / "guides", target / "guides")  # every generated partner keeps acme's guide
    (target / "partners").mkdir()
    template = yaml.safe_load((root / "partners" / "acme.yaml").read_text(encoding="utf-8"))
    for n in range(partners):
        data = yaml.safe_load(yaml.safe_dump(template))
        data["id"] = f"p{n:04d}"
        data["name"] = f"Partner {n}"
        data["x12"]["id"] = f"PARTNER{n:06d}"
        data["x12"].pop("application_id", None)
        data.pop("routes", None)
        data["erp"] = {"bc": {"customer": f"C9{n:04d}"}}
        for folder in ("inbox", "outbox", "archive"):
            if folder in data.get("cleo", {}):
                data["cleo"][folder] = f"p{n:04d}/{folder}"
        (target / "partners" / f"p{n:04d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (target / "schedules").mkdir()
    shipped = sorted((root / "schedules").glob("*.yaml"))
    for n in range(routes):
        source = shipped[n % len(shipped)]
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["name"] = f"{source.stem}-{n:02d}"
        (target / "schedules" / f"{source.stem}-{n:02d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def run_project(root: Path, partners: int, routes: int) -> None:
    from engine.config.project import validate_project

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        generate(root, target, partners, routes)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            project, findings = validate_project(target)
            best = min(best, time.perf_counter() - start)
        errors = [f.line() for f in findings if f.level == "error"]
        assert project is not None and not errors, errors[:5]
        print(
            f"project: {len(project.partners)} partners, {len(project.routes)} routes, "
            f"{len(project.mappings)} mappings loaded and validated in {best:.3f} s (goal < 2 s)"
        )
