"""Quorum admin sessions and locking are journaled (who, what, set, share fingerprints), never secrets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hsmconsole.access.session import lock_device, open_admin_session, start_session
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError
from hsmconsole.journal.chain import Journal, Outcome, verify_journal
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret

ADMIN = "adminadmin-quorum"


def test_admin_session_and_lock_are_journaled(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    profile = Profile("emu", provisioned.host_port, fingerprint=provisioned.fingerprint)
    client = DeviceClient(profile)
    journal = Journal(tmp_path / "journal.jsonl")
    client.set_admin_passphrase(Credentials("admin", Secret("adminadmin")), Secret(ADMIN))

    # A wrong typed passphrase: refused, journaled as failed.
    with pytest.raises(AuthError):
        start_session(client, Credentials("admin", Secret("not-the-one")), journal=journal)
    time.sleep(1.1)  # the device answers 429 to that user for a second after a failed login

    shares = split_secret(Secret(ADMIN), threshold=2, count=3, kind=SecretKind.ADMIN)
    collector = ShareCollector(kind=SecretKind.ADMIN)
    for share in shares[:2]:
        collector.add(encode_share(share))
    session = open_admin_session(collector, client, journal=journal)
    lock_device(client, session, journal)
    assert client.state() is DeviceState.LOCKED
    assert not session.open  # locking walks away: the passphrase is forgotten

    entries = journal.entries()
    assert [(e.event.action, e.event.outcome) for e in entries] == [
        ("admin.session.open", Outcome.FAILED),
        ("admin.session.open", Outcome.OK),
        ("lock", Outcome.OK),
    ]
    opened = entries[1].event
    assert opened.set_ids == (shares[0].set.set_id,)
    assert opened.share_fingerprints == tuple(s.fingerprint for s in shares[:2])
    assert verify_journal(journal.path).ok
    text = journal.path.read_text()
    assert ADMIN not in text and "not-the-one" not in text
    for share in shares:
        assert encode_share(share).reveal_str().split()[3] not in text
