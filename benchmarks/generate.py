"""Synthetic X12 for benchmarks: one interchange of 850 purchase orders, 20 lines each.

Deterministic (no randomness), so runs are comparable.
"""

from __future__ import annotations

from pathlib import Path

ISA = "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240502*1005*U*00401*000000101*0*T*>~\n"


def purchase_order(number: int, lines: int = 20) -> list[str]:
    """The segments (without terminators) of one 850 with `lines` PO1 lines."""
    body = [
        f"BEG*00*SA*PO-{number:08d}**20240502",
        "REF*DP*042",
        "DTM*002*20240515",
        "N1*ST*Acme DC 7*92*0007",
        "N3*100 Main St",
        "N4*Springfield*IL*62701*US",
    ]
    for line in range(1, lines + 1):
        body.append(f"PO1*{line}*{line % 7 + 1}*EA*{12.5 + line:.2f}*PE*BP*ACME-{line:03d}*VP*1896-S")
        body.append(f"PID*F****Item number {line} ATHENS Desk")
    body.append(f"CTT*{lines}")
    return body


def write_interchange(path: Path, target_bytes: int, lines: int = 20) -> tuple[int, int]:
    """Write one interchange of 850s of about `target_bytes`; returns (transactions, segments)."""
    written = 0
    count = 0
    segments = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(ISA)
        out.write("GS*PO*ACMERETAIL*MLCONNECT*20240502*1005*101*X*004010~\n")
        written += len(ISA) + 60
        segments += 2
        while written < target_bytes:
            count += 1
            control = f"{count:04d}"
            body = purchase_order(count, lines)
            text = f"ST*850*{control}~\n" + "~\n".join(body) + f"~\nSE*{len(body) + 2}*{control}~\n"
            out.write(text)
            written += len(text)
            segments += len(body) + 2
        out.write(f"GE*{count}*101~\nIEA*1*000000101~\n")
        segments += 2
    return count, segments
