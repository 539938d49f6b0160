"""80x24 snapshots of the administration screens: the emulator with fixed ids and names, a FAKE passphrase."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from hsmconsole.device import keys, namespaces, users
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.inventory import KeyMechanism, KeyType
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret
from screens.admin.reveal import PassphraseReveal
from screens.app import HsmConsoleApp
from tests.ui.conftest import settle

pytestmark = pytest.mark.slow  # a provisioned emulator per snapshot

ADMIN = "admin-passphrase-for-snapshots"
FAKE_PASSPHRASE = "snapsh0tfakepassphrasen0tsecretatallxxxxxxxxxxxxxxxx"  # 52 characters, like a real one


@pytest.fixture(scope="module")
def device() -> Iterator[Profile]:
    """One emulator for every snapshot here, filled once with fixed ids (they only read)."""
    with EmbeddedEmulator() as emu:
        profile = Profile("lab-hsm", emu.host_port, fingerprint=emu.fingerprint)
        client = DeviceClient(profile)
        client.provision(Secret("unlock-passphrase-snap"), Secret(ADMIN))
        admin = Credentials("admin", Secret(ADMIN))
        # The device's order: the namespace's administrator, then the namespace.
        users.add_user(
            client, admin, "repo~boss", "Repository team", UserRole.ADMINISTRATOR, Secret("passphrase-boss")
        )
        users.add_user(
            client, admin, "repo~signer", "Repo signer", UserRole.OPERATOR, Secret("passphrase-signer")
        )
        namespaces.create_namespace(client, admin, "repo")
        for uid, name, role in (
            ("admin2", "Day administrator", UserRole.ADMINISTRATOR),
            ("op1", "Olga Operator", UserRole.OPERATOR),
            ("metrics", "Monitoring", UserRole.METRICS),
            ("backup", "Nightly backup", UserRole.BACKUP),
        ):
            users.add_user(client, admin, uid, name, role, Secret("passphrase-" + uid))
        users.add_tag(client, admin, "op1", "web")
        users.add_tag(client, admin, "op1", "ci")
        with client.batch(admin) as batch:
            keys.generate_key(
                batch,
                admin,
                KeyType.CURVE25519,
                [KeyMechanism.EDDSA_SIGNATURE],
                key_id="repo-sign",
                tags=["web"],
            )
            keys.generate_key(
                batch, admin, KeyType.EC_P384, [KeyMechanism.ECDSA_SIGNATURE], key_id="image-sign"
            )
            keys.generate_key(
                batch,
                admin,
                KeyType.RSA,
                [KeyMechanism.RSA_SIGNATURE_PSS_SHA256],
                2048,
                key_id="ca-rsa",
                tags=["ci"],
            )
            keys.generate_key(
                batch,
                admin,
                KeyType.GENERIC,
                [KeyMechanism.AES_ENCRYPTION_CBC, KeyMechanism.AES_DECRYPTION_CBC],
                256,
                key_id="backup-aes",
            )
        yield profile


def _app(tmp_path: Path, profile: Profile) -> HsmConsoleApp:
    store = ProfileStore(tmp_path / "config")
    store.save(profile)
    vault = CredentialVault()
    vault.available = False
    return HsmConsoleApp(store=store, vault=vault, profile=profile, keyring_notice=False)


def _signed_in(key: str, user: str = "admin2", passphrase: str = "passphrase-admin2") -> Any:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        await pilot.press("end", "enter")
        await settle(pilot)
        for selector, text in (("#user-id", user), ("#passphrase", passphrase)):
            field = pilot.app.screen.query_one(selector, Input)
            field.focus()
            field.value = text
            await pilot.press("enter")
            await settle(pilot)

    return run


def test_actor_chooser(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("U")
        await settle(pilot)

    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=run)


def test_users_list(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=_signed_in("U"))


def test_users_list_as_namespace_admin(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    assert snap_compare(
        _app(tmp_path, device),
        terminal_size=(80, 24),
        run_before=_signed_in("U", "repo~boss", "passphrase-boss"),
    )


def test_namespaces_list(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=_signed_in("n"))


def test_keys_list(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=_signed_in("k"))


def test_keys_filtered_by_tag(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _signed_in("k")(pilot)
        await pilot.press("slash", *"tag:ci", "enter")
        await settle(pilot)

    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=run)


def test_generate_key_dialog_rsa(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _signed_in("k")(pilot)
        await pilot.press("g", "enter", "up", "enter")  # the type list: RSA is the first
        await settle(pilot)

    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=run)


def test_passphrase_reveal(snap_compare: Any, tmp_path: Path, device: Profile) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _signed_in("U")(pilot)
        vault = CredentialVault()
        vault.available = False
        pilot.app.push_screen(
            PassphraseReveal("signer", Secret(FAKE_PASSPHRASE), vault, "lab-hsm", keyring_allowed=False)
        )
        await settle(pilot)

    assert snap_compare(_app(tmp_path, device), terminal_size=(80, 24), run_before=run)
