"""End-to-end runs against the emulators, for the crash and scale-out tests and the end-to-end
benchmark: bulk documents, `mlc` worker processes with the project's stored secrets, and the
emulators in processes of their own.

    invoices = post_invoices(world.bc, 300)           # posted BC invoices of the partner customers
    orders = [acme_850(n) for n in range(5001, 5021)]  # 850 files for acme's inbox
    environ = worker_environ(world.environ, state_dir) # MLC_* for `mlc run`, secrets stored encrypted
    subprocess.run(mlc("run", "--once"), env=environ, cwd=ROOT)

    with EmulatorProcesses.start(invoices=2000, lines=20) as emulators:   # the benchmark
        ... emulators.environ ... emulators.count("acme/outbox") ... emulators.cpu_seconds()["cleo"]

`EmulatorProcesses` runs Business Central (with Entra and GP) and Cleo in two processes of
their own, so a worker's CPU time is the engine's alone and two workers do not queue on one
emulator's event loop.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.masterkey import MasterKey

if TYPE_CHECKING:
    from connectors.bc.emulator import BcEmulatorState

ROOT = Path(__file__).resolve().parents[1]

DEMO_SECRETS = {"bc-client-secret": "demo-bc-secret", "cleo-password": "demo-cleo-secret", "gp-password": "demo-gp-secret"}
"""The emulators' demo credentials under the secret names connections.yaml uses."""

CUSTOMER_PARTNERS = {"C10000": "acme", "C20000": "contoso"}
"""The BC customers that are trading partners (partners/*.yaml erp.bc.customer)."""

ITEMS = ("1896-S", "1900-S", "1906-S", "1908-S", "1920-S", "1968-S")


@dataclass(frozen=True)
class PostedInvoice:
    """A posted BC invoice and the 810 file it must become."""

    partner: str
    number: str

    @property
    def filename(self) -> str:
        """The file name the route bc-invoices-to-810 gives it in the partner's outbox."""
        return f"810_{self.partner}_{self.number}.edi"


def post_invoices(bc: BcEmulatorState, count: int, *, lines: int = 3) -> list[PostedInvoice]:
    """Create and post `count` sales invoices of `lines` item lines, the partner customers in turn."""
    customers = list(CUSTOMER_PARTNERS)
    posted = []
    for n in range(count):
        customer = customers[n % len(customers)]
        draft = bc.add_record(
            "salesInvoices",
            {
                "customerNumber": customer,
                "externalDocumentNumber": f"BULK-{n + 1:05d}",
                "salesInvoiceLines": [
                    {"lineType": "Item", "lineObjectNumber": ITEMS[(n + i) % len(ITEMS)], "quantity": (n + i) % 7 + 1}
                    for i in range(lines)
                ],
            },
        )
        invoice = bc.post_invoice(draft["id"])
        posted.append(PostedInvoice(CUSTOMER_PARTNERS[customer], str(invoice["number"])))
    return posted


@dataclass(frozen=True)
class InboundOrder:
    """An 850 from acme (partners/acme.yaml): its file, PO number and ISA13."""

    name: str
    po_number: str
    isa13: str
    content: bytes

    @property
    def ack_name(self) -> str:
        """The 997 the runtime uploads to acme's outbox for it."""
        return f"997_acme_{self.isa13}.edi"


def acme_850(sequence: int) -> InboundOrder:
    """A valid two-line 850 from acme; `sequence` gives the PO number and the control numbers."""
    isa13, po_number, quantity = f"{sequence:09d}", f"ACME-PO-{sequence}", sequence % 9 + 1
    segments = [
        f"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*{isa13}*0*P*>",
        f"GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*{sequence}*X*004010",
        "ST*850*0001",
        f"BEG*00*SA*{po_number}**20240603",
        "REF*DP*042",
        "DTM*002*20240617",
        "N1*BY*Acme Retail Inc.*92*ACMERETAIL",
        "N1*ST*Acme DC 7*92*0007",
        "N3*1200 W Industrial Dr",
        "N4*Chicago*IL*60607*US",
        f"PO1*1*{quantity}*EA*1000.8*PE*BP*AC-DESK-01",
        "PID*F****ATHENS Desk",
        "PO1*2*12*EA*192.8*PE*BP*AC-CHAIR-02",
        "PID*F****PARIS Guest Chair, black",
        f"CTT*2*{quantity + 12}",
        "SE*14*0001",
        f"GE*1*{sequence}",
        f"IEA*1*{isa13}",
    ]
    content = "".join(f"{segment}~\n" for segment in segments).encode("ascii")
    return InboundOrder(f"850_{po_number}.edi", po_number, isa13, content)


def acme_850_batch(first: int, count: int, *, unknown_item: frozenset[int] = frozenset(), isa13: int | None = None) -> InboundOrder:
    """One interchange of `count` two-line 850s from acme in one group (PO numbers
    ACME-PO-`first`...); the orders whose sequence is in `unknown_item` name an item acme's
    cross-reference does not know (they must fail alone). `po_number` is the first order's."""
    control = f"{isa13 if isa13 is not None else first:09d}"
    segments = [
        f"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*{control}*0*P*>",
        f"GS*PO*ACMERETAIL*MLCONNECT*20240603*0930*{int(control)}*X*004010",
    ]
    for n in range(first, first + count):
        quantity, st02 = n % 9 + 1, f"{n - first + 1:04d}"
        item = "AC-NO-SUCH-ITEM" if n in unknown_item else "AC-CHAIR-02"
        segments += [
            f"ST*850*{st02}",
            f"BEG*00*SA*ACME-PO-{n}**20240603",
            "DTM*002*20240617",
            "N1*BY*Acme Retail Inc.*92*ACMERETAIL",
            "N1*ST*Acme DC 7*92*0007",
            f"PO1*1*{quantity}*EA*1000.8*PE*BP*AC-DESK-01",
            "PID*F****ATHENS Desk",
            f"PO1*2*12*EA*192.8*PE*BP*{item}",
            "PID*F****PARIS Guest Chair, black",
            f"CTT*2*{quantity + 12}",
            f"SE*11*{st02}",
        ]
    segments += [f"GE*{count}*{int(control)}", f"IEA*1*{control}"]
    content = "".join(f"{segment}~\n" for segment in segments).encode("ascii")
    return InboundOrder(f"850_ACME-BATCH-{first}x{count}.edi", f"ACME-PO-{first}", control, content)


def mlc(*args: str) -> list[str]:
    """The command line of `mlc ARGS` with this interpreter (whatever PATH holds)."""
    return [sys.executable, "-c", "import sys; from engine.cli.main import main; sys.argv[0] = 'mlc'; main()", *args]


def worker_environ(
    emulators: Mapping[str, str],
    state_dir: Path,
    *,
    database: str | None = None,
    stale_after: float | None = None,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of `mlc` workers on the example project against `emulators` (their
    URLs): state in `state_dir` (or `database`), a fresh master key in `MLC_MASTER_KEY`, and the
    demo credentials (plus `secrets`) stored encrypted there with `mlc secrets set` (value on stdin)."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("MLC_")}
    environ.update(emulators)
    environ.update(MLC_PROJECT=str(ROOT), MLC_STATE_DIR=str(state_dir), MLC_MASTER_KEY=MasterKey.generate().encoded(), COLUMNS="160")
    if database is not None:
        environ["MLC_DATABASE_URL"] = database
    if stale_after is not None:
        environ["MLC_STALE_AFTER"] = str(stale_after)
    for name, value in {**DEMO_SECRETS, **(secrets or {})}.items():
        done = subprocess.run(mlc("secrets", "set", name), input=value, text=True, capture_output=True, env=environ, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"mlc secrets set {name} failed (exit {done.returncode}): {done.stderr.strip()}")
    return environ


# -- the emulators in processes of their own ---------------------------------------------------


@dataclass
class _Child:
    process: Any
    pipe: Connection

    def ask(self, *command: Any) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()


@dataclass
class EmulatorProcesses:
    """Business Central + Entra + GP in one process, Cleo in another (module docstring)."""

    environ: dict[str, str]
    invoices: list[PostedInvoice]
    _bc: _Child = field(repr=False)
    _cleo: _Child = field(repr=False)

    @classmethod
    @contextmanager
    def start(cls, *, invoices: int = 0, lines: int = 3) -> Iterator[EmulatorProcesses]:
        """Start both processes (BC seeded and holding `invoices` posted invoices); stop them after."""
        context = multiprocessing.get_context("spawn")
        children: list[_Child] = []
        try:
            for target, args in ((_serve_bc, (invoices, lines)), (_serve_cleo, ())):
                parent_end, child_end = context.Pipe()
                process = context.Process(target=target, args=(child_end, *args), daemon=True)
                process.start()
                children.append(_Child(process, parent_end))
            bc_url, posted = children[0].pipe.recv()
            cleo_url, _ = children[1].pipe.recv()
            environ = {
                "MLC_ENTRA_URL": f"{bc_url}/entra",
                "MLC_BC_URL": f"{bc_url}/bc",
                "MLC_GP_URL": f"{bc_url}/gp",
                "MLC_CLEO_URL": cleo_url,
            }
            yield cls(environ, posted, children[0], children[1])
        finally:
            for child in children:
                with suppress(OSError, EOFError):
                    child.ask("stop")
                child.process.join(timeout=10)
                if child.process.is_alive():
                    child.process.kill()

    def count(self, folder: str) -> int:
        """How many files a Cleo folder holds, or held before they were delivered."""
        return int(self._cleo.ask("count", folder))

    def files(self, folder: str) -> dict[str, bytes]:
        """The files of a Cleo folder, by name."""
        found: dict[str, bytes] = self._cleo.ask("files", folder)
        return found

    def clear(self, folder: str) -> int:
        """Delete every file of a Cleo folder and forget what it delivered; how many files."""
        return int(self._cleo.ask("clear", folder))

    def deliver(self, *folders: str) -> int:
        """From now on take the files of `folders` away as Cleo does once it has sent them on to
        the partner (none: stop); `count` still counts them. How many names were delivered twice."""
        return int(self._cleo.ask("deliver", list(folders)))

    def requests(self) -> list[str]:
        """The Cleo emulator's request log (`METHOD /path?query`), oldest first, then emptied."""
        found: list[str] = self._cleo.ask("requests")
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each emulator process: `bc` (with Entra and GP) and `cleo`."""
        return {"bc": float(self._bc.ask("cpu")), "cleo": float(self._cleo.ask("cpu"))}

    def put(self, folder: str, name: str, content: bytes) -> None:
        """Place a file in a Cleo folder as a partner would."""
        self._cleo.ask("put", folder, name, content)

    def order_numbers(self) -> list[str]:
        """The externalDocumentNumber (the partner's PO number) of every BC sales order."""
        found: list[str] = self._bc.ask("orders")
        return found

    def invoice_records(self) -> list[dict[str, Any]]:
        """The posted invoices as the API serves them, lines expanded."""
        found: list[dict[str, Any]] = self._bc.ask("invoices")
        return found


def _serve_bc(pipe: Connection, invoices: int, lines: int) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from connectors.bc.emulator import BcEmulatorState
    from connectors.bc.emulator import build_app as build_bc_app
    from connectors.gp.emulator import GpEmulator
    from engine.server import serve_in_thread

    bc = BcEmulatorState()
    posted = post_invoices(bc, invoices, lines=lines)
    gp = GpEmulator(idle_seconds=5.0)
    app = Starlette(routes=[Mount("/gp", app=gp.app), Mount("/", app=build_bc_app(bc))])
    with serve_in_thread(app) as served:
        pipe.send((served.url, posted))
        numbers = {p.number for p in posted}
        _answer(
            pipe,
            {
                "invoices": lambda: [r for r in bc.records("salesInvoices") if r["number"] in numbers],
                "orders": lambda: [r.get("externalDocumentNumber") for r in bc.records("salesOrders")],
            },
        )
    bc.close()


def _serve_cleo(pipe: Connection) -> None:
    from connectors.cleo.emulator import CleoEmulatorState
    from connectors.cleo.emulator import build_app as build_cleo_app
    from engine.server import serve_in_thread

    cleo = CleoEmulatorState.seeded()
    cleo.requests = deque()  # unbounded: the benchmark reads and empties it
    delivered: Counter[str] = Counter()
    delivering: set[str] = set()
    stop = threading.Event()

    def take(folder: str) -> int:
        gone = cleo.files_in(cleo.folder_by_path(folder).id)
        for stored in gone:
            cleo.delete(stored.id)
            delivered[f"{folder}/{stored.name}"] += 1
        return len(gone)

    def deliver() -> None:  # Cleo sends outbox files on to the partner and takes them away
        while not stop.wait(0.02):
            for folder in list(delivering):
                take(folder)

    def clear(folder: str) -> int:
        taken = take(folder)
        for name in [name for name in delivered if name.startswith(f"{folder}/")]:
            del delivered[name]
        return taken

    def count(folder: str) -> int:
        return len(cleo.folder_files(folder)) + sum(1 for name in delivered if name.startswith(f"{folder}/"))

    def deliveries(folders: list[str]) -> int:
        """Deliver (take away) the files of `folders` from now on (none: stop); names delivered twice."""
        delivering.clear()
        delivering.update(folders)
        return sum(1 for times in delivered.values() if times > 1)

    def requests() -> list[str]:
        logged = []
        while cleo.requests:
            logged.append(cleo.requests.popleft())
        return logged

    delivery = threading.Thread(target=deliver, name="cleo-delivery", daemon=True)
    delivery.start()
    with serve_in_thread(build_cleo_app(cleo)) as served:
        pipe.send((served.url, None))
        _answer(
            pipe,
            {
                "count": count, "files": cleo.folder_files, "clear": clear, "requests": requests, "deliver": deliveries,
                "put": lambda folder, name, content: cleo.put_file(folder, name, content) and None,
            },
        )
    stop.set()


def _answer(pipe: Connection, handlers: Mapping[str, Any]) -> None:
    while True:
        try:
            command, *args = pipe.recv()
        except EOFError:
            return
        if command == "stop":
            pipe.send(None)
            return
        if command == "cpu":
            pipe.send(time.process_time())
            continue
        pipe.send(handlers[command](*args))
