"""Full definition checking: ml-connector's checker vs pyx12's x12n_document, same kind of file.

Builds pyx12 an 850 map with ../shared/tools/pyx12_850_map.py (pyx12 ships no 850 map), then
checks the same generated 20-line 850s with both and prints segments/s side by side and the
ratio. pyx12 is slow, so it gets a smaller file (the rate is per segment either way); both
numbers come from the same run.

Goal (issue 2): at least 10x pyx12 (which validates at about 6,500 segments/s on this kind of
machine). Run: .venv/bin/python benchmarks/x12_check.py [--mb 20] [--pyx12-mb 1]
"""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate import write_interchange  # noqa: E402

MAP_BUILDER = ROOT.parent / "shared" / "tools" / "pyx12_850_map.py"


def ours(path: Path) -> tuple[float, int, int]:
    from engine.x12 import document

    start = time.perf_counter()
    with path.open("rb") as stream:
        report = document.check(stream, str(path))
    seconds = time.perf_counter() - start
    segments = sum(1 for _ in path.open("rb").read().split(b"~")) - 1
    return seconds, segments, len(report.errors)


def pyx12_check(path: Path, map_dir: Path) -> tuple[float, int, bool]:
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    params = pyx12.params.params()
    start = time.perf_counter()
    ok = pyx12.x12n_document.x12n_document(params, str(path), io.StringIO(), None, map_path=str(map_dir))
    seconds = time.perf_counter() - start
    segments = sum(1 for _ in path.open("rb").read().split(b"~")) - 1
    return seconds, segments, bool(ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--pyx12-mb", type=float, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.x12"
        small = Path(tmp) / "small.x12"
        write_interchange(big, int(args.mb * 1_000_000))
        write_interchange(small, int(args.pyx12_mb * 1_000_000))
        seconds, segments, errors = ours(big)
        rate = segments / seconds
        print(f"ml-connector check   {segments:>10,} segments in {seconds:6.2f} s = {rate:10,.0f} segments/s ({errors} errors)")
        seconds_s, segments_s, _ = ours(small)
        print(f"ml-connector check   {segments_s:>10,} segments in {seconds_s:6.2f} s = {segments_s / seconds_s:10,.0f} segments/s (small file)")
        if not MAP_BUILDER.exists():
            print(f"\npyx12 comparison skipped: {MAP_BUILDER} not found (it lives in the shared workspace)")
            return
        map_dir = Path(tmp) / "map850"
        subprocess.run([sys.executable, str(MAP_BUILDER), str(map_dir)], check=True, capture_output=True)
        p_seconds, p_segments, p_ok = pyx12_check(small, map_dir)
        p_rate = p_segments / p_seconds
        print(f"pyx12 x12n_document  {p_segments:>10,} segments in {p_seconds:6.2f} s = {p_rate:10,.0f} segments/s (valid: {p_ok})")
        print(f"\nml-connector vs pyx12: {rate / p_rate:.1f}x faster   (goal >= 10x)")


if __name__ == "__main__":
    main()
