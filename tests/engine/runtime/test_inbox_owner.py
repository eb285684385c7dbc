"""An inbox file whose first transaction set another inbound route takes is left for that
route, and downloaded once: later polls of the route that read it do not download it again."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from engine.config.project import Partner
from engine.config.route import Route
from engine.ports import RemoteFile
from engine.runtime import Runtime
from engine.runtime.files import inbound_route_for

MakeRuntime = Callable[..., Runtime]
ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*MLCONNECT      *240603*0930*U*00401*000000001*0*P*>~"


class CountingInbox:
    """A `FileStore` holding one inbox file; counts downloads."""

    def __init__(self, folder: str, name: str, content: bytes) -> None:
        self.file = RemoteFile(id="F-1", name=name, folder=folder, size=len(content))
        self.content = content
        self.downloads = 0

    def list_files(self, folder: str) -> Iterator[RemoteFile]:
        if folder == self.file.folder:
            yield self.file

    def download(self, file: RemoteFile) -> bytes:
        self.downloads += 1
        return self.content


def _two_routes_of_one_inbox(runtime: Runtime) -> tuple[Partner, Route, Route, str]:
    """A partner taking part in two folder routes, and a set the second takes (the first does not)."""
    project = runtime.project
    for partner in project.partners.values():
        folder_routes = [route for route in project.routes.values() if route.source.kind == "folder" and project.takes_part(partner, route)]
        for first in folder_routes:
            for second in folder_routes:
                for set_id in ("850", "855", "856", "997", "810"):
                    if second is not first and inbound_route_for(runtime.project, partner, set_id) is second:
                        return partner, first, second, set_id
    raise AssertionError("the example project has no partner reading one inbox through two routes")


def test_a_file_of_another_route_is_downloaded_once_and_left_for_that_route(make_runtime: MakeRuntime) -> None:
    partner, first, second, set_id = _two_routes_of_one_inbox(make_runtime())
    cleo = partner.data["cleo"]
    content = f"{ISA}GS*XX*SENDER*MLCONNECT*20240603*0930*1*X*004010~ST*{set_id}*0001~SE*2*0001~GE*1*1~IEA*1*000000001~".encode()
    inbox = CountingInbox(str(cleo["inbox"]), f"{set_id}_x.edi", content)
    connection = str(cleo.get("connection") or first.source.connection)
    runtime = make_runtime(**{connection: inbox})

    polls = [runtime.poll(first.name) for _ in range(3)]

    assert inbox.downloads == 1
    assert [(p.others, p.enqueued) for p in polls] == [(1, 0)] * 3
    assert runtime.store.jobs() == [], "left for its own route"

    taken = runtime.poll(second.name)

    assert (taken.enqueued, inbox.downloads) == (1, 2)
    (job,) = runtime.store.jobs()
    assert (job.route, job.kind, job.partner) == (second.name, "file", partner.id)
