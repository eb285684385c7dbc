"""The example project with its Cleo connection over SFTP, for end-to-end tests.

    project_dir = sftp_project(tmp_path / "project", sshd)   # connections.yaml: cleo -> the test sshd
    with sftp_runtime(world, sshd, project_dir, tmp_path / "state") as runtime:
        runtime.run_once()
    sshd.folder("acme/outbox")

BC and GP stay on the emulators of `world`; the partners' mailboxes are the sshd's folders.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml
from delivery import control_numbers
from world import DEMO_SECRETS, FAST, World, copy_project, no_wait_retry

from connectors.cleo.sshd import LocalSshd
from engine.config.project import load_project
from engine.runtime import Runtime
from engine.runtime.setup import open_runtime
from engine.x12 import document


def sftp_project(dest: Path, sshd: LocalSshd) -> Path:
    """The example project copied to `dest`, its `cleo` connection pointed at `sshd` over SFTP."""
    copy_project(dest)
    path = dest / "connections.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["connections"]["cleo"] = sshd.connection(timeout_seconds=10)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


@contextmanager
def sftp_runtime(world: World, sshd: LocalSshd, root: Path, state_dir: Path) -> Iterator[Runtime]:
    """A runtime over the project at `root` with BC/GP on `world` and Cleo on `sshd`."""
    environ = {**world.environ, "MLC_STATE_DIR": str(state_dir)}
    secrets = {**DEMO_SECRETS, **sshd.secrets()}
    with open_runtime(
        root,
        environ=environ,
        database=f"sqlite:///{state_dir / 'mlc.db'}",
        secrets=secrets.__getitem__,
        settings=FAST,
        project=load_project(root, environ=environ),
        retry=no_wait_retry(),
    ) as runtime:
        yield runtime


def sftp_delivery_problems(sshd: LocalSshd, expected: Mapping[str, Iterable[str]]) -> list[str]:
    """What is wrong with the partners' SFTP outboxes (partner -> names that must be there):
    missing files, temporary files left, files not published by exactly one rename, X12 that
    fails the check, ISA13/GS06 used twice. Empty when delivery was exactly once."""
    problems: list[str] = []
    for partner, names in sorted(expected.items()):
        folder = f"{partner}/outbox"
        files = sshd.folder(folder)
        hidden = sorted(name for name in files if name.startswith("."))
        if hidden:
            problems.append(f"{partner}: temporary files left: {hidden[:5]}")
        files = {name: content for name, content in files.items() if not name.startswith(".")}
        missing = sorted(set(names) - set(files))
        if missing:
            problems.append(f"{partner}: {len(missing)} file(s) missing, e.g. {missing[:5]}")
        renames = sshd.renames_into(folder)
        twice = sorted(name for name, count in renames.items() if count != 1)
        if twice:
            problems.append(f"{partner}: published more than once: {twice[:5]}")
        unpublished = sorted(set(files) - set(renames))
        if unpublished:
            problems.append(f"{partner}: in the outbox without a rename: {unpublished[:5]}")
        for name, content in sorted(files.items()):
            if name.endswith(".edi"):
                report = document.check(io.BytesIO(content), name)
                if not report.ok:
                    problems.append(f"{partner}: {name} fails the check: {report.errors[0].line(name)}")
        isa13, gs06 = control_numbers(files)
        for label, counts in (("ISA13", isa13), ("GS06", gs06)):
            used = sorted(number for number, count in counts.items() if count > 1)
            if used:
                problems.append(f"{partner}: {label} used more than once: {used[:10]}")
    return problems
