"""Cleo over SFTP against the REST emulator: files per second uploaded and downloaded, in one run.

The same files (500 X12 files of about 4 KB by default, the size of a 20-line 810) go through:

    REST     the Cleo connector (`CleoFileStore`) against the Cleo emulator in a process of its
             own (benchmarks/emulated.py), over loopback HTTP
    SFTP     the SFTP connector (`SftpFileStore`) against a real OpenSSH sshd on loopback
             (connectors/cleo/sshd.py), one SSH session for the whole run
    SFTP, a session per file   the same uploads with a new connection (handshake, host key
             check, key authentication) for every file: what session reuse saves

Each row runs `--rounds` times (at most 4), each round into another partner's empty outbox;
the fastest round counts. Upload is the connector's full atomic upload (REST: look the name up, then POST; SFTP: stat the
final name, write the temporary name, rename); download is list the folder once, then read
every file (REST: GET content; SFTP: open, read). Ratios are against REST measured in the same
run. sshd and the REST emulator each run in their own process, so the client's process holds
only the connector.

Run: .venv/bin/python benchmarks/sftp.py [--files 500] [--size 4000] [--per-file 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.emulated import EmulatorProcesses
from connectors.cleo import connect
from connectors.cleo.emulator import DEMO_PASSWORD, DEMO_USER
from connectors.cleo.sshd import LocalSshd, sshd_available
from engine.ports import FileStore


def payload(index: int, size: int) -> bytes:
    """An X12-looking file of `size` bytes, different for each index."""
    head = f"ISA*00*          *00*          *ZZ*MLCONNECT      *ZZ*ACMERETAIL     *240603*0930*U*00401*{index:09d}*0*P*>~\n"
    body = "".join(f"IT1*{n}*{index % 97 + n}*EA*12.50**BP*AC-DESK-{n:02d}~\n" for n in range(1, size // 32 + 2))
    return (head + body).encode("ascii")[:size]


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def upload_all(store: FileStore, folder: str, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        store.upload(folder, name, content)


def download_all(store: FileStore, folder: str, files: dict[str, bytes]) -> None:
    listed = list(store.list_files(folder))
    assert {f.name for f in listed} >= set(files), "a file did not arrive"
    for remote in listed:
        if remote.name in files:
            assert store.download(remote) == files[remote.name]


FOLDERS = ("acme/outbox", "contoso/outbox", "globex/outbox", "initech/outbox")


def best_of(rounds: int, store: FileStore, files: dict[str, bytes]) -> tuple[float, float]:
    """The fastest upload and download times over `rounds` rounds, each into an empty partner
    outbox (the machine is shared: the best round is the one least disturbed)."""
    ups, downs = [], []
    for round_ in range(rounds):
        folder = FOLDERS[round_ % len(FOLDERS)]
        ups.append(timed(lambda: upload_all(store, folder, files)))  # noqa: B023
        downs.append(timed(lambda: download_all(store, folder, files)))  # noqa: B023
    return min(ups), min(downs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--per-file", type=int, default=50, help="files for the session-per-file row")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 5), help="rounds per row (1-4); the fastest counts")
    args = parser.parse_args()
    reason = sshd_available()
    if reason:
        print(f"benchmarks/sftp.py needs OpenSSH's sshd: {reason}", file=sys.stderr)
        return 1
    files = {f"810_bench_{n:05d}.edi": payload(n, args.size) for n in range(args.files)}
    rows: list[tuple[str, int, float, float | None]] = []

    with EmulatorProcesses.start() as emulators:
        rest = connect(
            {"type": "cleo", "base_url": emulators.environ["MLC_CLEO_URL"], "username": DEMO_USER, "password_secret": "p"},
            {"p": DEMO_PASSWORD}.__getitem__,
        )
        with rest:
            rest.upload("acme/archive", "warm-up.edi", b"w")  # token and connection, outside the timing
            up, down = best_of(args.rounds, rest, files)
        rows.append(("REST (Cleo emulator)", len(files), up, down))

    with LocalSshd.start() as sshd:
        secrets = sshd.secrets().__getitem__
        sftp = connect(sshd.connection(), secrets)
        with sftp:
            sftp.upload("acme/archive", "warm-up.edi", b"w")
            up, down = best_of(args.rounds, sftp, files)
            sessions = getattr(sftp, "sessions_opened", "?")
        rows.append((f"SFTP (OpenSSH sshd, {sessions} session)", len(files), up, down))

        few = dict(list(files.items())[: args.per_file])

        def one_session_each() -> None:
            for name, content in few.items():
                with connect(sshd.connection(), secrets) as store:
                    store.upload("contoso/archive", name, content)

        rows.append(("SFTP, a session per file", len(few), timed(one_session_each), None))

    base_up = rows[0][1] / rows[0][2]
    base_down = rows[0][1] / rows[0][3] if rows[0][3] else 0.0
    print(f"{args.files} files of {args.size} bytes, best of {args.rounds} rounds; ratios against REST in this run\n")
    print(f"{'transport':<38} {'upload files/s':>15} {'ratio':>7} {'download files/s':>17} {'ratio':>7}")
    for label, count, up_s, down_s in rows:
        up_rate = count / up_s
        down_text = f"{count / down_s:>17.0f} {count / down_s / base_down:>6.2f}x" if down_s else f"{'-':>17} {'-':>7}"
        print(f"{label:<38} {up_rate:>15.0f} {up_rate / base_up:>6.2f}x {down_text}")
    reuse = (rows[1][1] / rows[1][2]) / (rows[2][1] / rows[2][2])
    print(f"\nreusing one SSH session uploads {reuse:.1f}x as many files per second as a session per file")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
