"""Reading throughput and memory: this reader vs pyx12's X12Reader vs a bare str.split floor.

Generates a 50 MB interchange of 20-line 850s (and a 5 MB one for the memory comparison),
then prints, side by side from one run: MB/s and segments/s of each reader, the ratios, and
the peak Python memory of this reader on 5 MB and on 50 MB (it must stay flat).

Goals (issue 2): >= 2x pyx12's X12Reader, within 3x of the bare split, peak < 50 MB.
Run: .venv/bin/python benchmarks/x12_read.py [--mb 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import write_interchange


def ours(path: Path) -> int:
    from engine.x12.tokenizer import Tokenizer

    count = 0
    with path.open("rb") as stream:
        for _ in Tokenizer(stream, str(path)):
            count += 1
    return count


def ours_envelope(path: Path) -> int:
    from engine.x12.reader import Transaction, read_events

    count = 0
    with path.open("rb") as stream:
        for event in read_events(stream, str(path)):
            if isinstance(event, Transaction):
                count += len(event.segments)
    return count


def pyx12_reader(path: Path) -> int:
    from pyx12.x12file import X12Reader

    count = 0
    with path.open(encoding="utf-8") as stream:
        for _ in X12Reader(stream):
            count += 1
    return count


def bare_split(path: Path) -> int:
    text = path.read_bytes().decode("utf-8")
    count = 0
    for piece in text.split("~"):
        if piece.strip():
            piece.split("*")
            count += 1
    return count


def timed(fn, path: Path, repeat: int = 3) -> tuple[float, int]:
    best = float("inf")
    result = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(path)
        best = min(best, time.perf_counter() - start)
    return best, result


PEAK_SCRIPT = """
import sys, tracemalloc
sys.path.insert(0, {root!r})
from engine.x12.reader import read_events
tracemalloc.start()
with open({path!r}, 'rb') as stream:
    for _ in read_events(stream, 'bench'):
        pass
print(tracemalloc.get_traced_memory()[1])
"""


def peak_memory(path: Path) -> int:
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT.format(root=root, path=str(path))], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.x12"
        small = Path(tmp) / "small.x12"
        txns, segs = write_interchange(big, args.mb * 1_000_000)
        write_interchange(small, args.mb * 100_000)
        size_mb = big.stat().st_size / 1e6
        print(f"file: {size_mb:.1f} MB, {txns} transactions, {segs} segments\n")
        rows = []
        for name, fn in (
            ("bare str.split (floor)", bare_split),
            ("ml-connector tokenizer", ours),
            ("ml-connector envelope reader", ours_envelope),
            ("pyx12 X12Reader", pyx12_reader),
        ):
            seconds, count = timed(fn, big, repeat=1 if "pyx12" in name else 3)
            rows.append((name, seconds, count))
            print(f"{name:32s} {size_mb / seconds:8.1f} MB/s {count / seconds:12,.0f} segments/s  ({seconds:.2f} s)")
        floor = rows[0][1]
        env = rows[2][1]
        pyx = rows[3][1]
        print()
        print(f"envelope reader vs pyx12 X12Reader: {pyx / env:.2f}x faster   (goal >= 2x)")
        print(f"envelope reader vs bare split:      {env / floor:.2f}x slower   (goal <= 3x)")
        print(f"tokenizer vs bare split:            {rows[1][1] / floor:.2f}x slower")
        small_peak = peak_memory(small)
        big_peak = peak_memory(big)
        print(
            f"\npeak Python memory of the envelope reader: {small_peak / 1e6:.1f} MB on {small.stat().st_size / 1e6:.0f} MB, "
            f"{big_peak / 1e6:.1f} MB on {size_mb:.0f} MB   (goal: flat, < 50 MB)"
        )


if __name__ == "__main__":
    main()
