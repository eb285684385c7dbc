"""Load and validate a generated project of many partners and routes (see benchmarks/render.py).

Three projects of the same partners and routes are loaded, each in a fresh process (so no
cache of an earlier load helps the next), and printed side by side with their ratios:

1. no overlays: every partner shares acme's guide file (`guides/acme.yaml`);
2. overlays: every partner also has its own 810 variant, an overlay of the shipped mapping
   named in its `overrides.mappings` (issue 11, part 2);
3. overlays and guides: every partner also names a guide file of its own
   (`guides/pNNNN.yaml`, acme's guide with the partner's own description and name length).

Each load is timed in CPU seconds of its process (`time.process_time`: the load is one thread,
and other work on a shared machine does not skew the ratios): `cold` is the first load (what
`mlc validate` pays), `warm` the best of three more (a process that loads the project again). Goal: the overlays and
guides project within about 2x of the project without overlays.
Run directly: `python benchmarks/render_project.py [--partners 500] [--routes 40]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
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

MODES = ("plain", "overlays", "guides")


def generate(root: Path, target: Path, partners: int, routes: int, overlays: bool = False, guides: bool = False) -> None:
    """A copy of the project at `root` with `partners` partner files and `routes` route files;
    with `overlays`, an 810 overlay per partner; with `guides`, a guide file per partner."""
    shutil.copy(root / "connections.yaml", target / "connections.yaml")
    shutil.copytree(root / "mappings", target / "mappings", ignore=shutil.ignore_patterns("cases"))
    if (root / "guides").is_dir():
        shutil.copytree(root / "guides", target / "guides")  # without `guides`, every partner keeps acme's guide
    guide_text = (root / "guides" / "acme.yaml").read_text(encoding="utf-8")
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
        if guides:
            text = guide_text.replace("description: Acme Retail Inc.", f"description: Partner {n},", 1)
            text = text.replace("N1[ST]/N102: 35", f"N1[ST]/N102: {20 + n % 40}", 1)
            (target / "guides" / f"p{n:04d}.yaml").write_text(text, encoding="utf-8")
            data["guide"] = f"guides/p{n:04d}.yaml"
        (target / "partners" / f"p{n:04d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (target / "schedules").mkdir()
    shipped = sorted((root / "schedules").glob("*.yaml"))
    for n in range(routes):
        source = shipped[n % len(shipped)]
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["name"] = f"{source.stem}-{n:02d}"
        (target / "schedules" / f"{source.stem}-{n:02d}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def load_here(target: Path) -> dict[str, float | int]:
    """Load the project at `target` four times in this process: the first (cold) time, the
    best of the other three (warm: the machine may be shared), and what was loaded."""
    from engine.config.project import validate_project

    times = []
    for _ in range(4):
        start = time.process_time()
        project, findings = validate_project(target)
        times.append(time.process_time() - start)
        errors = [f.line() for f in findings if f.level == "error"]
        assert project is not None and not errors, errors[:5]
    guides = {p.guide.path for p in project.partners.values() if p.guide is not None}
    return {"cold": times[0], "warm": min(times[1:]), "mappings": len(project.mappings), "guides": len(guides)}


def _load(root: Path, partners: int, routes: int, mode: str) -> dict[str, float | int]:
    """`load_here` on a generated project, in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        generate(root, target, partners, routes, overlays=mode != "plain", guides=mode == "guides")
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--load", str(target)],
            cwd=root, capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"loading the {mode} project failed:\n{done.stderr}")
        result: dict[str, float | int] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def run_project(root: Path, partners: int, routes: int, *, overlays: bool = True) -> None:
    """Print the load figures of the generated projects (only the plain one without `overlays`)."""
    plain = _load(root, partners, routes, "plain")
    print(
        f"project: {partners} partners, {routes} routes, {plain['mappings']} mappings loaded and validated "
        f"in {plain['cold']:.3f} s cold, {plain['warm']:.3f} s warm, CPU (goal < 2 s)"
    )
    if not overlays:
        return
    for mode, label in (("overlays", "with an 810 overlay per partner"), ("guides", "with an 810 overlay and a guide file per partner")):
        found = _load(root, partners, routes, mode)
        print(
            f"project {label}: {found['mappings']} mappings ({int(found['mappings']) - int(plain['mappings'])} overlays), "
            f"{found['guides']} guide file(s), in {found['cold']:.3f} s cold, {found['warm']:.3f} s warm, CPU: "
            f"{found['cold'] / plain['cold']:.2f}x cold, {found['warm'] / plain['warm']:.2f}x warm the project without overlays (goal about 2x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--routes", type=int, default=40)
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the child process: load one project, print JSON
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    if args.load is not None:
        sys.path.insert(0, str(root))
        print(json.dumps(load_here(args.load)))
        return
    run_project(root, args.partners, args.routes)


if __name__ == "__main__":
    main()
