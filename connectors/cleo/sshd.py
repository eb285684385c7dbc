"""A real OpenSSH server on loopback serving a Cleo-style mailbox tree over SFTP.

Used by the SFTP tests, `mlc demo --sftp` and `benchmarks/sftp.py`: it starts Debian's
`/usr/sbin/sshd` (openssh-server) in the foreground on a free loopback port with a host key of
its own, a client key in `authorized_keys`, and `ForceCommand internal-sftp -d <mailbox>`, so
the account can do SFTP and nothing else, starting in the mailbox directory.

    with LocalSshd.start(seed=True) as sshd:
        entry = sshd.connection()           # a connections.yaml `cleo` entry (transport: sftp)
        secrets = sshd.secrets()            # the private key (and password) under their secret names
        sshd.folder("acme/outbox")          # name -> bytes, the partner's view

Who logs in:

- Run by an ordinary user, sshd runs as that user and only that user can log in (sshd cannot
  switch users without root). Key authentication works; password authentication does not, as
  an unprivileged sshd cannot read /etc/shadow: `password_auth` is then False and tests that
  need it skip saying so.
- Run by root, sshd logs the dedicated account `mlc-sftp` in (created with `useradd` when
  missing; password set with `chpasswd` to a random value, shared by the servers of parallel
  test processes through a root-only file in /run and locked when the last one stops), so folder permissions
  mean something (root ignores them) and password authentication is real. The mailbox tree is
  owned by that account.

sftp-server's own log (`-l INFO`: every open, rename, remove) goes to `sftp.log` beside the
mailbox (`sftp_log()`), which `renames_into` reads to count how often a file was published into a folder.

Written here rather than taken from a library because no maintained package starts a system
OpenSSH server (test helpers for SSH embed paramiko's own server, which is not what real
mailboxes run).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets as token
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from connectors.cleo.sshkeys import fingerprint_of_blob

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
TEST_USER = "mlc-sftp"
SEED_PACKAGE = "connectors.cleo.emulator.seed"
KEY_SECRET = "cleo-sftp-key"
PASSWORD_SECRET = "cleo-password"
START_TIMEOUT = 15.0


class SshdUnavailable(RuntimeError):
    """sshd is not installed, or cannot be started here (the message says why)."""


def sshd_available() -> str | None:
    """None when a local sshd can be started, else the reason it cannot."""
    for program in (SSHD, SFTP_SERVER):
        if not program.is_file() or not os.access(program, os.X_OK):
            return f"{program} not found: install Debian's openssh-server (apt-get install openssh-server)"
    return None


@dataclass
class KeyPair:
    """An Ed25519 key pair in OpenSSH formats."""

    private: str
    public: str  # `ssh-ed25519 AAAA... comment`

    @classmethod
    def generate(cls, comment: str) -> KeyPair:
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ).decode("ascii")
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        return cls(private, f"{public.decode('ascii')} {comment}")

    @property
    def blob(self) -> bytes:
        import base64

        return base64.b64decode(self.public.split()[1])

    @property
    def fingerprint(self) -> str:
        return fingerprint_of_blob(self.blob)


@dataclass
class LocalSshd:
    """A running sshd (module docstring); build it with `LocalSshd.start()`."""

    base: Path
    mailbox: Path
    port: int
    user: str
    host_key: KeyPair
    client_key: KeyPair
    password: str | None
    process: subprocess.Popen[bytes]
    log_path: Path
    host: str = "127.0.0.1"
    _owner: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def password_auth(self) -> bool:
        """Whether password authentication is possible (only when sshd runs as root)."""
        return self.password is not None

    @property
    def fingerprint(self) -> str:
        """The host key's SHA256 fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it)."""
        return self.host_key.fingerprint

    @property
    def known_hosts_line(self) -> str:
        """The host key as a known_hosts entry (`[127.0.0.1]:PORT ssh-ed25519 AAAA...`)."""
        kind, blob = self.host_key.public.split()[:2]
        return f"[{self.host}]:{self.port} {kind} {blob}"

    def connection(self, *, auth: str = "key", pin: str = "fingerprint", **extra: Any) -> dict[str, Any]:
        """A `cleo` connections.yaml entry for this server (`auth`: key, password, key+password)."""
        entry: dict[str, Any] = {
            "type": "cleo",
            "transport": "sftp",
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "auth": auth,
        }
        if "key" in auth:
            entry["private_key_secret"] = KEY_SECRET
        if "password" in auth:
            entry["password_secret"] = PASSWORD_SECRET
        if pin == "fingerprint":
            entry["host_key"] = self.fingerprint
        else:
            entry["host_key"] = self.known_hosts_line
        entry.update(extra)
        return entry

    def secrets(self) -> dict[str, str]:
        """The client credentials under the secret names `connection()` uses."""
        found = {KEY_SECRET: self.client_key.private}
        if self.password is not None:
            found[PASSWORD_SECRET] = self.password
        return found

    # -- the partner's side of the mailbox ------------------------------------------------------

    def path(self, folder: str) -> Path:
        return self.mailbox / folder.strip("/")

    def put(self, folder: str, name: str, content: bytes, *, modified: datetime | None = None) -> Path:
        """Drop a file as a partner would (owned by the mailbox account)."""
        target = self.path(folder) / name
        target.write_bytes(content)
        if modified is not None:
            os.utime(target, (modified.timestamp(), modified.timestamp()))
        self._chown(target)
        return target

    def folder(self, folder: str) -> dict[str, bytes]:
        """Name -> bytes of the regular files in `folder` (hidden temporary files included)."""
        directory = self.path(folder)
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}

    def reset(self, *, seed: bool = False) -> None:
        """Empty the mailbox and the sftp-server log, and lay out the partners' folders again
        (seeded files when `seed`)."""
        with (self.base / "sftp.log").open("r+b") as handle:
            handle.truncate(0)
        for child in self.mailbox.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        _seed(self.mailbox, files=seed)
        for path in [self.mailbox, *self.mailbox.rglob("*")]:
            self._chown(path)

    def make_folder(self, folder: str) -> Path:
        directory = self.path(folder)
        directory.mkdir(parents=True, exist_ok=True)
        self._chown(directory)
        return directory

    def log(self) -> str:
        """sshd's log (connections, authentication)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def sftp_log(self) -> str:
        """sftp-server's log: every open, rename and remove of every session."""
        return (self.base / "sftp.log").read_text(encoding="utf-8", errors="replace")

    @property
    def logs_sftp(self) -> bool:
        """Whether sftp-server's log is kept (not for an account whose shell is nologin)."""
        return "internal-sftp" not in (self.base / "etc" / "sshd_config").read_text(encoding="ascii")

    def renames_into(self, folder: str) -> dict[str, int]:
        """How often sftp-server was asked to rename a file *into* `folder`, by final name
        (SshdUnavailable when its log is not kept: see `logs_sftp`)."""
        if not self.logs_sftp:
            raise SshdUnavailable(f"sftp-server's log is not kept: the shell of {self.user} runs no commands (nologin)")
        prefix = str(self.path(folder)) + "/"
        relative = folder.strip("/") + "/"
        counts: dict[str, int] = {}
        for match in re.finditer(r'rename old "([^"]*)" new "([^"]*)"', self.sftp_log()):
            new = match.group(2)
            for start in (prefix, relative):
                if new.startswith(start) and "/" not in new[len(start) :]:
                    name = new[len(start) :]
                    counts[name] = counts.get(name, 0) + 1
        return counts

    # -- life cycle ----------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def start(cls, base: Path | None = None, *, seed: bool = False) -> Iterator[LocalSshd]:
        """Start sshd (see the module docstring); stopped and its files removed on exit."""
        reason = sshd_available()
        if reason:
            raise SshdUnavailable(reason)
        made = base is None
        root = Path(tempfile.mkdtemp(prefix="mlc-sshd-", dir=_reachable_temp_dir())) if base is None else base
        try:
            server = cls._launch(root, seed)
            try:
                yield server
            finally:
                server.stop()
        finally:
            if made:
                shutil.rmtree(root, ignore_errors=True)

    @classmethod
    def _launch(cls, root: Path, seed: bool) -> LocalSshd:
        as_root = os.geteuid() == 0
        config_dir = root / "etc"
        config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        root.chmod(0o755)  # the mailbox account must reach the mailbox below
        mailbox = root / "mailbox"
        mailbox.mkdir(exist_ok=True)
        host_key, client_key = KeyPair.generate("mlc-local-sshd"), KeyPair.generate("mlc-client")
        key_path = config_dir / "host_ed25519_key"
        key_path.write_text(host_key.private, encoding="ascii")
        key_path.chmod(0o600)
        authorized = config_dir / "authorized_keys"
        authorized.write_text(client_key.public + "\n", encoding="ascii")
        authorized.chmod(0o644)
        password: str | None = None
        owner: tuple[int, int] | None = None
        if as_root:
            user = _ensure_test_user()
            password = _account_password(user, join=True)
            entry = pwd.getpwnam(user)
            owner = (entry.pw_uid, entry.pw_gid)
            config_dir.chmod(0o711)  # sshd's unprivileged child reads authorized_keys as the user
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        else:
            user = pwd.getpwuid(os.geteuid()).pw_name
        log_path = root / "sshd.log"
        sftp_log = root / "sftp.log"
        sftp_log.touch(mode=0o644)
        if owner is not None:
            os.chown(sftp_log, *owner)
        port = _free_port()
        config = config_dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {key_path}",
                    f"PidFile {config_dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "StrictModes no",
                    "UsePAM no",
                    f"PasswordAuthentication {'yes' if as_root else 'no'}",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin no" if as_root else "PermitRootLogin prohibit-password",
                    f"AllowUsers {user}",
                    "AuthenticationMethods any",
                    "MaxStartups 100:30:200",
                    "MaxAuthTries 6",
                    "LoginGraceTime 30",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "PermitTTY no",
                    "LogLevel INFO",
                    f"Subsystem sftp {SFTP_SERVER}",
                    _force_command(user, mailbox, sftp_log),
                    "",
                ]
            ),
            encoding="ascii",
        )
        _seed(mailbox, files=seed)
        if owner is not None:
            for path in [mailbox, *mailbox.rglob("*")]:
                os.chown(path, *owner)
        log = log_path.open("ab")
        process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        server = cls(root, mailbox, port, user, host_key, client_key, password, process, log_path, _owner=owner)
        server._wait_listening()
        return server

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SshdUnavailable(f"sshd exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as probe:
                    probe.settimeout(2.0)
                    if probe.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SshdUnavailable(f"sshd did not answer on {self.host}:{self.port} within {START_TIMEOUT:.0f} s: {self.log()[-2000:]}")

    def session_pids(self) -> list[int]:
        """The pids of sshd's per-connection children (to kill a session as a crash would)."""
        found: list[int] = []
        queue = [self.process.pid]
        while queue:
            pid = queue.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                queue.append(int(child))
        return found

    def stop(self) -> None:
        """Stop the listener and its sessions."""
        sessions = self.session_pids()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in sessions:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        if self.password is not None:
            _account_password(self.user, join=False)

    def _chown(self, path: Path) -> None:
        if self._owner is not None:
            os.chown(path, *self._owner)


def _ensure_test_user() -> str:
    """The mailbox account (root only). Its shell runs sshd's ForceCommand (sftp-server, nothing
    else); its password is random per server and locked again when the server stops."""
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", TEST_USER],
            check=False,
            capture_output=True,
        )
        if made.returncode != 0:
            pwd.getpwnam(TEST_USER)  # a parallel test process created it first; else the KeyError says so
    else:
        if entry.pw_shell != "/bin/sh":
            subprocess.run(["usermod", "--shell", "/bin/sh", TEST_USER], check=True, capture_output=True)
    return TEST_USER


ACCOUNT_STATE = Path("/run/mlc-sftp.json")
"""Root-only (0600) record of the mailbox account's current password and the pids of the
servers using it: servers in parallel processes (pytest-xdist) share one account and password."""


def _account_password(user: str, *, join: bool) -> str:
    """Join (or leave) the servers sharing the mailbox account, under a file lock. The first to
    join sets a fresh random password; the last to leave locks the account again."""
    import fcntl
    import json

    with open(ACCOUNT_STATE.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(ACCOUNT_STATE.read_text(encoding="utf-8")) if ACCOUNT_STATE.exists() else {}
        except ValueError:
            state = {}
        live = [pid for pid in state.get("pids", []) if pid != os.getpid() and Path(f"/proc/{pid}").exists()]
        password = str(state.get("password") or "")
        if join:
            if not live or not password:
                password = "Mlc-" + token.token_urlsafe(12)  # Cleo's rule: upper, lower, digit, special
                subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True, capture_output=True)
            live.append(os.getpid())
        elif not live:
            subprocess.run(["usermod", "--lock", user], check=False, capture_output=True)
            password = ""
        ACCOUNT_STATE.touch(mode=0o600)
        ACCOUNT_STATE.write_text(json.dumps({"password": password, "pids": live}), encoding="utf-8")
        return password


def _force_command(user: str, mailbox: Path, sftp_log: Path) -> str:
    """SFTP only, starting in the mailbox. sshd runs a ForceCommand through the user's shell: with
    a real shell, sftp-server runs with its log sent to `sftp_log`; an account whose shell runs
    no commands (nologin) gets the in-process internal-sftp, which cannot log to a file."""
    shell = pwd.getpwnam(user).pw_shell
    if Path(shell).name in ("nologin", "false") or not os.access(shell, os.X_OK):
        return f"ForceCommand internal-sftp -u 0022 -d {mailbox}"
    return f"ForceCommand exec {SFTP_SERVER} -e -l INFO -u 0022 -d {mailbox} 2>>{sftp_log}"


def _reachable_temp_dir() -> str | None:
    """A temporary directory the mailbox account can reach (as root, every parent must be
    searchable by others: a private TMPDIR is not); None for the default."""
    if os.geteuid() != 0:
        return None
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp"):
        path = Path(candidate).resolve()
        if all(part.stat().st_mode & 0o001 for part in (path, *path.parents)):
            return str(path)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(mailbox: Path, *, files: bool) -> None:
    """The Cleo emulator's demo mailbox: the partners' inbox/outbox/archive, and with `files` the
    seed files (with their modification times)."""
    root = resources.files(SEED_PACKAGE)
    manifest = yaml.safe_load(root.joinpath("mailbox.yaml").read_text(encoding="utf-8"))
    for partner in manifest["partners"]:
        for sub in manifest["subfolders"]:
            (mailbox / partner / sub).mkdir(parents=True, exist_ok=True)
    for entry in manifest["files"] if files else []:
        target = mailbox / entry["folder"] / entry["name"]
        target.write_bytes(root.joinpath(entry["name"]).read_bytes())
        stamp = datetime.fromisoformat(entry["modified"]).timestamp()
        os.utime(target, (stamp, stamp))
