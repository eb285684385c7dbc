"""Load and validate a generated project of many partners and routes (see benchmarks/render.py).

With overlays, every partner has its own 810 variant (an overlay of the shipped mapping, named in
its `overrides.mappings`): the load time of that project is printed against the same project
without overlays, measured in the same run. Run directly: `python benchmarks/render_project.py`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import yaml

OVERLAY = """extends: bc-sales-invoice-to-810
changes:
  - set: {REF02: "{{ partner.settings.vendor_number }}"}
    at: REF[IA]
  - remove: N1_loop[BT]
  - add: {ITD: {ITD01: "05", ITD02: "3", ITD07: "30"}}
    after: N1_loop[ST]
"""


def generate(root: Path, target: Path, partners: int, routes: int, overlays: bool = False) -> None:
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
        if overlays:
            name = f"p{n:04d}-810"
            (target / "mappings" / name).mkdir(parents=True, exist_ok=True)
            (target / "mappings" / name / "mapping.yaml").write_text(OVERLAY, encoding="utf-8")
            data["overrides"] = {"mappings": {"bc-sales-invoice-to-810": name}, "settings": {"vendor_number": f"V{n:05d}"}}
        (target / "partners" / f"p{n:04d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (target / "schedules").mkdir()
    shipped = sorted((root / "schedules").glob("*.yaml"))
    for n in range(routes):
        source = shipped[n % len(shipped)]
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["name"] = f"{source.stem}-{n:02d}"
        (target / "schedules" / f"{source.stem}-{n:02d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def _load(root: Path, partners: int, routes: int, overlays: bool) -> tuple[float, int]:
    from engine.config.project import validate_project

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        generate(root, target, partners, routes, overlays)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            project, findings = validate_project(target)
            best = min(best, time.perf_counter() - start)
        errors = [f.line() for f in findings if f.level == "error"]
        assert project is not None and not errors, errors[:5]
        return best, len(project.mappings)


def run_project(root: Path, partners: int, routes: int, *, overlays: bool = False) -> None:
    plain, mappings = _load(root, partners, routes, False)
    print(f"project: {partners} partners, {routes} routes, {mappings} mappings loaded and validated in {plain:.3f} s (goal < 2 s)")
    if overlays:
        with_overlays, count = _load(root, partners, routes, True)
        print(
            f"project with an 810 overlay per partner: {count} mappings ({count - mappings} overlays) in {with_overlays:.3f} s, "
            f"{with_overlays / plain:.2f}x the project without overlays"
        )


if __name__ == "__main__":
    run_project(Path(__file__).resolve().parents[1], 500, 40, overlays=True)
