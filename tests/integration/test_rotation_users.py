"""User passphrase rotation on the emulator: role, namespace, one user; files, keyring, partial failure."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmconsole.device.client import Credentials, DeviceClient, WrongCredentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import InputError
from hsmconsole.journal.chain import Journal
from hsmconsole.models import UserRole
from hsmconsole.rotation.users import Delivery, Selection, passphrase_file, rotate_users
from hsmconsole.secrets import Secret
from tests.integration.conftest import SdkFactory
from tests.keyrings import MemoryKeyring, installed

OLD = {"op1": "op1-old-passphrase", "op2": "op2-old-passphrase", "met": "met-old-passphrase",
       "ns~op": "nsop-old-passphrase"}  # fmt: skip
ADMIN = Credentials("admin", Secret("adminadmin"))


@pytest.fixture
def device(provisioned: EmbeddedEmulator, sdk_factory: SdkFactory) -> DeviceClient:
    client = DeviceClient(Profile("emu", provisioned.host_port, fingerprint=provisioned.fingerprint))
    for user_id, role in (("op1", UserRole.OPERATOR), ("op2", UserRole.OPERATOR), ("met", UserRole.METRICS),
                          ("ns~op", UserRole.OPERATOR)):  # fmt: skip
        client.add_user(ADMIN, user_id, user_id, role, Secret(OLD[user_id]))
    # Once namespace ns exists, only its own administrators may change ns~op (reference §4.1).
    sdk_factory("admin", "adminadmin").add_namespace("ns")
    return client


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def works(client: DeviceClient, user_id: str, passphrase: str) -> bool:
    try:
        client.check_user(Credentials(user_id, Secret(passphrase)))
    except WrongCredentials:
        return False
    return True


@pytest.mark.slow
def test_role_rotation_with_files_and_a_partial_failure(
    device: DeviceClient, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    vault = CredentialVault()
    vault.set("emu", "op2", Secret(OLD["op2"]))  # op2 signs in from the keyring: it must follow
    journal = Journal(tmp_path / "journal.jsonl")
    report = rotate_users(
        device,
        ADMIN,
        Selection(role=UserRole.OPERATOR),
        Delivery.FILES,
        directory=tmp_path / "out",
        vault=vault,
        journal=journal,
        device_id="emu",
    )
    assert report.rotated == ("op1", "op2")
    assert report.failed == ("ns~op",)
    assert "ns~op" in report.summary() and "NOT changed" in report.summary()
    for user_id in ("op1", "op2"):
        path = passphrase_file(tmp_path / "out", "emu", user_id)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        new = path.read_text().strip()
        assert works(device, user_id, new)
        assert not works(device, user_id, OLD[user_id])
    kept = vault.get("emu", "op2")
    assert (
        kept is not None
        and kept.reveal_str() == passphrase_file(tmp_path / "out", "emu", "op2").read_text().strip()
    )
    assert vault.get("emu", "op1") is None  # not kept before: files only, as chosen
    assert works(device, "ns~op", OLD["ns~op"])
    assert works(device, "met", OLD["met"])  # another role: untouched
    text = journal.path.read_text()
    assert "op1" in text and "ns~op" in text
    for path in (tmp_path / "out").iterdir():
        assert path.read_text().strip() not in text


def test_one_user_to_the_keyring_and_bad_selections(
    device: DeviceClient, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    vault = CredentialVault()
    report = rotate_users(
        device, ADMIN, Selection(user_id="met"), Delivery.KEYRING, vault=vault, device_id="emu"
    )
    assert report.rotated == ("met",) and report.outcomes[0].passphrase is None
    kept = vault.get("emu", "met")
    assert kept is not None and works(device, "met", kept.reveal_str())
    with pytest.raises(InputError, match="held by custodians"):
        rotate_users(device, ADMIN, Selection(user_id="admin"), Delivery.SHOW)
    with pytest.raises(InputError, match="No user matches"):
        rotate_users(device, ADMIN, Selection(namespace="nope"), Delivery.SHOW)
    shown = rotate_users(device, ADMIN, Selection(namespace="ns"), Delivery.SHOW)
    assert shown.failed == ("ns~op",) and shown.rotated == ()
