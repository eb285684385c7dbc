"""The Cleo SFTP transport against a real OpenSSH sshd on loopback (tests/conftest.py `sshd`).

Host keys pinned and refused, credentials refused, connections cut mid-transfer (nothing
partial under a final name, nothing lost, nothing written twice), a partner folder without
permission, one SSH session reused across calls, reconnect after a drop. The FileStore
contract itself runs over SFTP in test_filestore_contract.py.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sftp_support import CuttingRelay, no_wait_retry, sftp_store

from connectors.cleo.sshd import KeyPair, LocalSshd
from engine.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    SecretError,
    TransportError,
    UnauthorizedError,
)

BIG = bytes(range(256)) * 4096  # 1 MiB: several SFTP write requests, cut in the middle
X12 = b"ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*MLCONNECT      *240603*0930*U*00401*000000001*0*P*>~\n"


def test_host_key_pinned_by_fingerprint_is_accepted(sshd: LocalSshd) -> None:
    store = sftp_store(sshd)
    assert list(store.list_files("acme/inbox")) == []


def test_host_key_pinned_as_known_hosts_line_is_accepted(sshd: LocalSshd) -> None:
    store = sftp_store(sshd, pin="known_hosts")
    assert list(store.list_files("acme/inbox")) == []


def test_host_key_from_a_known_hosts_file_is_accepted(sshd: LocalSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    other = KeyPair.generate("someone-else")
    known.write_text(f"other.example {other.public}\n{sshd.known_hosts_line}\n", encoding="ascii")
    config = sshd.connection(known_hosts=str(known))
    del config["host_key"]
    from connectors.cleo import connect

    store = connect(config, sshd.secrets().__getitem__, retry=no_wait_retry())
    assert list(store.list_files("acme/inbox")) == []


def test_changed_host_key_is_refused_before_any_credential_is_sent(sshd: LocalSshd) -> None:
    impostor = KeyPair.generate("impostor")
    store = sftp_store(sshd, host_key=impostor.fingerprint)
    before = sshd.log().count("Accepted publickey")

    with pytest.raises(AuthenticationError, match=r"presented host key ssh-ed25519 SHA256:.*not the pinned key.*refusing to connect") as caught:
        list(store.list_files("acme/inbox"))

    assert sshd.fingerprint in str(caught.value) and impostor.fingerprint in str(caught.value)
    assert sshd.log().count("Accepted publickey") == before  # no authentication was attempted
    assert store.sessions_opened == 0


def test_host_key_not_in_the_known_hosts_file_is_refused(sshd: LocalSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {KeyPair.generate('old').public}\n", encoding="ascii")
    config = sshd.connection(known_hosts=str(known))
    del config["host_key"]
    from connectors.cleo import connect

    store = connect(config, sshd.secrets().__getitem__, retry=no_wait_retry())
    with pytest.raises(AuthenticationError, match="not the pinned key"):
        list(store.list_files("acme/inbox"))


def test_a_known_hosts_file_without_the_server_is_a_config_error(sshd: LocalSshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"other.example {KeyPair.generate('x').public}\n", encoding="ascii")
    config = sshd.connection(known_hosts=str(known))
    del config["host_key"]
    from connectors.cleo import connect

    with pytest.raises(ConfigError, match=r"no host key pinned for \[127\.0\.0\.1\]:\d+.*never accepted"):
        connect(config, sshd.secrets().__getitem__)


def test_a_connection_without_a_pinned_host_key_is_refused_at_validation(sshd: LocalSshd) -> None:
    from connectors.cleo import validate_config

    config = sshd.connection()
    del config["host_key"]
    with pytest.raises(ConfigError, match="pin the server's host key"):
        validate_config(config)


def test_password_authentication_works(sshd: LocalSshd) -> None:
    if not sshd.password_auth:
        pytest.skip("password authentication needs sshd running as root (an unprivileged sshd cannot read /etc/shadow); see docs/cleo-sftp.md")
    store = sftp_store(sshd, auth="password")
    store.upload("acme/outbox", "810_1.edi", X12)
    assert sshd.folder("acme/outbox") == {"810_1.edi": X12}


def test_wrong_password_is_refused_once_and_not_retried(sshd: LocalSshd) -> None:
    if not sshd.password_auth:
        pytest.skip("password authentication needs sshd running as root (an unprivileged sshd cannot read /etc/shadow); see docs/cleo-sftp.md")
    waits: list[float] = []
    store = sftp_store(sshd, auth="password", secrets={"cleo-password": "Wrong-password-1"}, retry=no_wait_retry().__class__(sleep=waits.append))

    with pytest.raises(AuthenticationError, match=r"refused the password of user 'mlc-sftp'") as caught:
        list(store.list_files("acme/inbox"))

    assert "Wrong-password-1" not in str(caught.value)
    assert waits == []  # a refused password is permanent: no retry
    assert sshd.log().count("Failed password for mlc-sftp") == 1


def test_a_key_the_server_does_not_know_is_refused(sshd: LocalSshd) -> None:
    stranger = KeyPair.generate("stranger")
    store = sftp_store(sshd, secrets={"cleo-sftp-key": stranger.private})
    with pytest.raises(AuthenticationError, match=r"refused the key SHA256:"):
        list(store.list_files("acme/inbox"))


def test_a_secret_that_is_not_a_private_key_is_a_secret_error(sshd: LocalSshd) -> None:
    with pytest.raises(SecretError, match=r"'cleo-sftp-key' is not a usable private key"):
        sftp_store(sshd, secrets={"cleo-sftp-key": "not a key"})


def test_upload_writes_a_temporary_name_then_renames_it(sshd: LocalSshd) -> None:
    store = sftp_store(sshd)

    stored = store.upload("acme/outbox", "810_103001.edi", X12)

    assert sshd.folder("acme/outbox") == {"810_103001.edi": X12}
    log = sshd.sftp_log()
    assert 'open "acme/outbox/.mlc-tmp-810_103001.edi" flags WRITE,CREATE,TRUNCATE' in log
    assert 'rename old "acme/outbox/.mlc-tmp-810_103001.edi" new "acme/outbox/810_103001.edi"' in log
    assert 'open "acme/outbox/810_103001.edi" flags WRITE' not in log  # the final name is never written
    assert stored.id.startswith("acme/outbox/810_103001.edi;size=")


def test_temporary_and_hidden_files_are_not_listed(sshd: LocalSshd) -> None:
    sshd.put("acme/inbox", ".mlc-tmp-850_1.edi", b"half a fi")
    sshd.put("acme/inbox", ".partner-upload.part", b"x")
    sshd.put("acme/inbox", "850_1.edi", X12)
    (sshd.path("acme/inbox") / "sub").mkdir()

    assert [f.name for f in sftp_store(sshd).list_files("acme/inbox")] == ["850_1.edi"]


def test_file_ids_carry_path_size_and_mtime(sshd: LocalSshd) -> None:
    sshd.put("acme/inbox", "850_1.edi", X12, modified=datetime(2024, 6, 3, 9, 30, tzinfo=UTC))
    (listed,) = sftp_store(sshd).list_files("acme/inbox")
    assert listed.id == f"acme/inbox/850_1.edi;size={len(X12)};mtime=1717407000"
    assert listed.modified == datetime(2024, 6, 3, 9, 30, tzinfo=UTC)


def test_a_file_replaced_after_it_was_read_is_not_archived(sshd: LocalSshd) -> None:
    sshd.put("acme/inbox", "850_1.edi", X12, modified=datetime(2024, 6, 3, 9, 30, tzinfo=UTC))
    store = sftp_store(sshd)
    (listed,) = store.list_files("acme/inbox")
    sshd.put("acme/inbox", "850_1.edi", X12 + b"more", modified=datetime(2024, 6, 3, 9, 31, tzinfo=UTC))

    store.move(listed, "acme/archive")
    store.delete(listed)

    assert sshd.folder("acme/inbox") == {"850_1.edi": X12 + b"more"}  # the new content waits for the next poll
    assert sshd.folder("acme/archive") == {}


def test_one_ssh_session_serves_every_call(sshd: LocalSshd) -> None:
    for n in range(5):
        sshd.put("acme/inbox", f"850_{n}.edi", X12)
    store = sftp_store(sshd)
    before = sshd.log().count("Accepted publickey")

    for remote in store.list_files("acme/inbox"):
        store.download(remote)
        store.move(remote, "acme/archive")
    store.upload("acme/outbox", "997_1.edi", X12)

    assert store.sessions_opened == 1
    assert sshd.log().count("Accepted publickey") - before == 1


def test_a_dropped_session_is_reopened_on_the_next_call(sshd: LocalSshd) -> None:
    store = sftp_store(sshd)
    store.upload("acme/outbox", "a.edi", b"a")
    for pid in sshd.session_pids():
        os.kill(pid, 9)  # the server side of the session dies (a crash, a restart)

    store.upload("acme/outbox", "b.edi", b"b")

    assert store.sessions_opened == 2
    assert sshd.folder("acme/outbox") == {"a.edi": b"a", "b.edi": b"b"}


def test_upload_cut_mid_transfer_is_retried_and_published_once(sshd: LocalSshd) -> None:
    with CuttingRelay(sshd.host, sshd.port, cut_after=len(BIG) // 2, cuts=1) as relay:
        store = sftp_store(sshd, host=relay.host, port=relay.port)

        stored = store.upload("acme/outbox", "810_big.edi", BIG)

    assert relay.cut == 1 and store.sessions_opened == 2
    assert stored.size == len(BIG)
    assert sshd.folder("acme/outbox") == {"810_big.edi": BIG}  # complete, and no temporary file left
    assert sshd.renames_into("acme/outbox") == {"810_big.edi": 1}


def test_upload_cut_on_every_attempt_leaves_nothing_under_the_final_name(sshd: LocalSshd) -> None:
    with CuttingRelay(sshd.host, sshd.port, cut_after=len(BIG) // 2, cuts=10) as relay:
        store = sftp_store(sshd, host=relay.host, port=relay.port, retry=no_wait_retry(max_attempts=3))
        with pytest.raises(TransportError, match="broke during upload"):
            store.upload("acme/outbox", "810_big.edi", BIG)

    assert relay.cut == 3
    there = sshd.folder("acme/outbox")
    assert "810_big.edi" not in there  # the partner never sees half a file under its name
    assert set(there) <= {".mlc-tmp-810_big.edi"}

    sftp_store(sshd).upload("acme/outbox", "810_big.edi", BIG)  # the job's next attempt

    assert sshd.folder("acme/outbox") == {"810_big.edi": BIG}
    assert sshd.renames_into("acme/outbox") == {"810_big.edi": 1}


def test_download_cut_mid_transfer_is_retried_and_complete(sshd: LocalSshd) -> None:
    sshd.put("acme/inbox", "850_big.edi", BIG)
    with CuttingRelay(sshd.host, sshd.port, cut_after=len(BIG) // 2, cuts=1) as relay:
        store = sftp_store(sshd, host=relay.host, port=relay.port)
        (listed,) = store.list_files("acme/inbox")

        assert store.download(listed) == BIG

    assert relay.cut == 1
    assert sshd.folder("acme/inbox") == {"850_big.edi": BIG}


def test_a_server_session_killed_mid_upload_loses_and_duplicates_nothing(sshd: LocalSshd) -> None:
    store = sftp_store(sshd)
    store.upload("acme/outbox", "warm.edi", b"w")  # the session exists
    victims = sshd.session_pids()
    temp = sshd.path("acme/outbox") / ".mlc-tmp-810_big.edi"

    def kill_when_writing() -> None:
        # Kill the server side once the temporary file has bytes: the client's write fails.
        while not (temp.exists() and temp.stat().st_size > 0):
            threading.Event().wait(0.001)
        for pid in victims:
            os.kill(pid, 9)

    killer = threading.Thread(target=kill_when_writing, daemon=True)
    killer.start()
    store.upload("acme/outbox", "810_big.edi", BIG * 8)
    killer.join(timeout=10)

    assert store.sessions_opened == 2  # the killed session was replaced
    assert sshd.folder("acme/outbox") == {"warm.edi": b"w", "810_big.edi": BIG * 8}
    assert sshd.renames_into("acme/outbox")["810_big.edi"] == 1


def test_permission_denied_on_one_partner_folder_stops_only_that_folder(sshd: LocalSshd) -> None:
    store = sftp_store(sshd)
    locked = sshd.path("contoso/outbox")
    locked.chmod(0o555)
    try:
        with pytest.raises(UnauthorizedError, match=r"permission denied: user '[^']+' may not upload contoso/outbox/810_1\.edi") as caught:
            store.upload("contoso/outbox", "810_1.edi", X12)
        assert caught.value.status == 403

        store.upload("acme/outbox", "810_2.edi", X12)  # the same session goes on for other partners
    finally:
        locked.chmod(0o755)
    assert sshd.folder("contoso/outbox") == {}
    assert sshd.folder("acme/outbox") == {"810_2.edi": X12}
    assert store.sessions_opened == 1


def test_listing_a_folder_without_read_permission_is_refused(sshd: LocalSshd) -> None:
    locked = sshd.path("globex/inbox")
    locked.chmod(0o311)
    try:
        with pytest.raises(UnauthorizedError, match="may not list globex/inbox"):
            list(sftp_store(sshd).list_files("globex/inbox"))
    finally:
        locked.chmod(0o755)


def test_existing_final_name_with_other_content_is_never_overwritten(sshd: LocalSshd) -> None:
    sshd.put("acme/outbox", "810_1.edi", b"the partner already has this one")
    with pytest.raises(ConflictError, match=r"sftp://.*810_1\.edi -> refused as 409: a different file named '810_1\.edi'"):
        sftp_store(sshd).upload("acme/outbox", "810_1.edi", X12)
    assert sshd.folder("acme/outbox") == {"810_1.edi": b"the partner already has this one"}


def test_a_file_appearing_under_the_final_name_during_the_upload_is_never_replaced(sshd: LocalSshd) -> None:
    temp = sshd.path("acme/outbox") / ".mlc-tmp-810_race.edi"

    def partner_writes_the_same_name() -> None:
        while not temp.exists():
            threading.Event().wait(0.001)
        sshd.put("acme/outbox", "810_race.edi", b"the partner's own file")

    partner = threading.Thread(target=partner_writes_the_same_name, daemon=True)
    partner.start()
    with pytest.raises(ConflictError, match="never overwrites"):
        sftp_store(sshd).upload("acme/outbox", "810_race.edi", BIG * 8)
    partner.join(timeout=10)

    # OpenSSH's RENAME does not replace an existing name; our temporary file is cleaned up
    assert sshd.folder("acme/outbox") == {"810_race.edi": b"the partner's own file"}


def test_unknown_folder_names_the_mailbox(sshd: LocalSshd) -> None:
    with pytest.raises(ConfigError, match=r"no folder 'nosuch/outbox' in the SFTP mailbox mlc-sftp@127\.0\.0\.1|no folder 'nosuch/outbox' in the SFTP mailbox"):
        sftp_store(sshd).upload("nosuch/outbox", "810_1.edi", X12)


def test_an_unreachable_server_is_a_transport_error_after_bounded_retries() -> None:
    from connectors.cleo import connect

    waits: list[float] = []
    config: dict[str, Any] = {
        "type": "cleo",
        "transport": "sftp",
        "host": "127.0.0.1",
        "port": 1,
        "username": "x",
        "auth": "password",
        "password_secret": "p",
        "host_key": KeyPair.generate("x").fingerprint,
        "timeout_seconds": 2,
    }
    from connectors.common.retry import RetryPolicy

    store = connect(config, {"p": "secret"}.__getitem__, retry=RetryPolicy(max_attempts=3, sleep=waits.append))
    with pytest.raises(TransportError, match=r"cannot reach the SFTP server 127\.0\.0\.1:1"):
        list(store.list_files("acme/inbox"))
    assert len(waits) == 2  # three attempts, backing off between them
