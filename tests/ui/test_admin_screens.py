"""Users, Namespaces and Keys screens driven through Pilot against the emulator over HTTPS."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from hsmconsole.access.session import AdminSession
from hsmconsole.admin import people
from hsmconsole.admin.actor import actor_from_session
from hsmconsole.device import keys, users
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.inventory import KeyMechanism, KeyType
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret
from screens.admin.actor import ActorChooser
from screens.admin.forms import FormDialog, TextDialog
from screens.admin.key_dialogs import CertificateDialog, GenerateKeyDialog, MechanismPicker
from screens.admin.keys import KeysScreen
from screens.admin.listing import PAGE
from screens.admin.namespaces import NamespacesScreen
from screens.admin.reveal import PassphraseReveal
from screens.admin.users import UsersScreen
from screens.app import HsmConsoleApp
from screens.dashboard import DashboardScreen
from screens.dialogs import PassphrasePrompt, TypedConfirm
from tests.keyrings import MemoryKeyring, installed
from tests.ui.conftest import ADMIN, UNLOCK, LockedDevice, settle

pytestmark = pytest.mark.slow  # each drives the console against a freshly provisioned emulator

ADMIN2 = ("admin2", "admin2-passphrase")
OPERATOR = ("op1", "op1-passphrase")


@pytest.fixture
def device(locked: LockedDevice, store: ProfileStore) -> Profile:
    """Unlocked, with a second Administrator, an operator tagged `web` and two keys."""
    client = locked.client()
    client.unlock(Secret(UNLOCK))
    admin = Credentials("admin", Secret(ADMIN))
    users.add_user(client, admin, ADMIN2[0], "Day admin", UserRole.ADMINISTRATOR, Secret(ADMIN2[1]))
    users.add_user(client, admin, OPERATOR[0], "Olga", UserRole.OPERATOR, Secret(OPERATOR[1]))
    users.add_tag(client, admin, OPERATOR[0], "web")
    keys.generate_key(
        client, admin, KeyType.CURVE25519, [KeyMechanism.EDDSA_SIGNATURE], key_id="ed1", tags=["web"]
    )
    keys.generate_key(client, admin, KeyType.EC_P256, [KeyMechanism.ECDSA_SIGNATURE], key_id="p256")
    store.save(locked.profile)
    return locked.profile


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def admin_creds() -> Credentials:
    return Credentials("admin", Secret(ADMIN))


def _app(store: ProfileStore, profile: Profile) -> HsmConsoleApp:
    return HsmConsoleApp(
        store=store, vault=CredentialVault(), profile=profile, emulator=True, keyring_notice=False
    )


async def fill(pilot: Pilot[Any], selector: str, text: str, *, submit: bool = True) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    if submit:
        await pilot.press("enter")
    await settle(pilot)


async def open_section(pilot: Pilot[Any], key: str, user: tuple[str, str] = ADMIN2) -> Any:
    """From the dashboard: the section's key, then sign in as `user` in the chooser."""
    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    await pilot.press(key)
    await settle(pilot)
    if isinstance(pilot.app.screen, ActorChooser):
        await pilot.press("end", "enter")  # "Another Administrator user ..."
        await settle(pilot)
        assert isinstance(pilot.app.screen, PassphrasePrompt)
        await fill(pilot, "#user-id", user[0])
        await fill(pilot, "#passphrase", user[1])
    return pilot.app.screen


def table_ids(screen: Any) -> list[str]:
    table = screen.query_one("#admin-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def note(screen: Any) -> str:
    return str(screen.query_one("#admin-note", Static).render())


def cursor_to(screen: Any, item_id: str) -> None:
    screen.query_one("#admin-table", DataTable).move_cursor(row=table_ids(screen).index(item_id))


async def test_users_add_reveal_file_tags_passphrase_delete(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    client = DeviceClient(device)
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "U")
        assert isinstance(screen, UsersScreen)
        assert "Acting as admin2 (root Administrator, signed in)" in str(
            screen.query_one("#admin-actor", Static).render()
        )
        assert table_ids(screen) == ["admin", "admin2", "op1"]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        await fill(pilot, "#field-id", "signer")
        await fill(pilot, "#field-name", "Signing robot")
        await fill(pilot, "#field-role", "op")
        reveal = app.screen
        assert isinstance(reveal, PassphraseReveal)
        shown = str(reveal.query_one("#reveal-groups", Static).render())
        typed = "".join(part for line in shown.splitlines() for part in line.split()[2:])
        target = tmp_path / "signer.passphrase"
        await fill(pilot, "#reveal-path", str(target))
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert target.read_text().strip() == typed
        assert reveal.secret.wiped
        client.check_user(Credentials("signer", Secret(typed)))
        assert "signer" in table_ids(screen)

        # Tags by difference.
        cursor_to(screen, "signer")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await fill(pilot, "#field-tags", "web ci")
        assert users.get_user(client, admin_creds(), "signer").tags == ("ci", "web")

        # The admin passphrase is refused here; another user's is replaced and shown once.
        cursor_to(screen, "admin")
        await pilot.press("p")
        await settle(pilot)
        assert not isinstance(app.screen, PassphraseReveal)
        cursor_to(screen, "signer")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseReveal)
        await pilot.press("escape")  # not saved: asked first
        await settle(pilot)
        await pilot.press("shift+tab", "enter")  # "Close"
        await settle(pilot)
        assert app.screen is screen

        # Delete needs the user id typed; a wrong word does nothing.
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, TypedConfirm)
        await fill(pilot, "#confirm-word", "yes")
        assert isinstance(app.screen, TypedConfirm)
        await fill(pilot, "#confirm-word", "signer")
        await settle(pilot)
        assert "signer" not in users.list_user_ids(client, admin_creds())
        assert "signer" not in table_ids(screen)


async def test_namespace_admin_sees_its_namespace_and_is_told_why(
    device: Profile, store: ProfileStore
) -> None:
    client = DeviceClient(device)
    root = actor_from_session(AdminSession(admin_creds()))
    boss, secret = people.create_namespace(client, root, None, "repo", "boss", "Repo boss")
    people.create_user(client, root, None, "other", "Other", UserRole.METRICS)
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "U", (boss, secret.reveal_str()))
        assert isinstance(screen, UsersScreen)
        assert table_ids(screen) == ["repo~boss"]
        assert "Only the users of namespace repo are shown" in note(screen)
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_section(pilot, "n")  # the signed-in administrator is kept
        assert isinstance(screen, NamespacesScreen)
        assert table_ids(screen) == []
        assert "repo~boss may not list namespaces" in note(screen)
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_section(pilot, "k")
        assert isinstance(screen, KeysScreen)
        assert table_ids(screen) == [] and "Only the keys of namespace repo" in note(screen)


async def test_namespaces_create_then_delete_with_typed_name(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    client = DeviceClient(device)
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "n")
        assert isinstance(screen, NamespacesScreen)
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, "#field-ns", "images")
        await fill(pilot, "#field-admin", "lead")
        await fill(pilot, "#field-name", "Image team")
        assert isinstance(app.screen, PassphraseReveal)
        await fill(pilot, "#reveal-path", str(tmp_path / "lead.pass"))
        assert table_ids(screen) == ["images"]
        passphrase = (tmp_path / "lead.pass").read_text().strip()
        client.check_user(Credentials("images~lead", Secret(passphrase)))
        await pilot.press("d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, TypedConfirm) and "Every key in namespace images" in confirm.consequence
        await fill(pilot, "#confirm-word", "images")
        assert client.call("ns", admin_creds(), lambda s: s.list_namespaces()) == []
        # Its administrator stays (powerless): the row says the namespace is gone.
        row = screen.query_one("#admin-table", DataTable).get_row_at(0)
        assert row[0] == "images" and "NOT CREATED" in str(row[2])


async def test_keys_generate_test_export_csr_certificate_rename_delete(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    client = DeviceClient(device)
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "k")
        assert isinstance(screen, KeysScreen)
        assert table_ids(screen) == ["ed1", "p256"]
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, GenerateKeyDialog)
        await fill(pilot, "#key-id", "ed2")
        await fill(pilot, "#key-tags", "web")
        await settle(pilot)
        assert keys.get_key(client, admin_creds(), "ed2").tags == ("web",)
        assert "ed2" in table_ids(screen)

        cursor_to(screen, "ed2")
        await pilot.press("x")  # test as an operator that carries the tag
        await settle(pilot)
        await fill(pilot, "#user-id", OPERATOR[0])
        await fill(pilot, "#passphrase", OPERATOR[1])
        assert "Key ed2 works: signed a random message" in note(screen)

        await pilot.press("e")
        await settle(pilot)
        await fill(pilot, "#field-path", str(tmp_path / "ed2.pub.pem"))
        pub = serialization.load_pem_public_key((tmp_path / "ed2.pub.pem").read_bytes())
        assert pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode() == keys.public_key_pem(client, admin_creds(), "ed2")

        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormDialog)
        for key, value in (
            ("cn", "repo.example.org"),
            ("o", "Example"),
            ("c", "de"),
            ("san", "repo.example.org mirror.example.org"),
            ("path", str(tmp_path / "ed2.csr")),
        ):
            form.query_one(f"#field-{key}", Input).value = value
        await fill(pilot, "#field-path", str(tmp_path / "ed2.csr"))
        csr = x509.load_pem_x509_csr((tmp_path / "ed2.csr").read_bytes())
        assert csr.is_signature_valid and "CN=repo.example.org" in csr.subject.rfc4514_string()

        cert_file = tmp_path / "cert.pem"
        cert_file.write_bytes(_self_signed())
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CertificateDialog)
        await pilot.press("u")
        await settle(pilot)
        await fill(pilot, "#field-path", str(cert_file))
        assert keys.get_certificate(client, admin_creds(), "ed2") == cert_file.read_bytes()
        await pilot.press("c")
        await settle(pilot)
        assert "CN=test-cert" in str(app.screen.query_one("#cert-text", Static).render())
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("m")
        await settle(pilot)
        await fill(pilot, "#field-new", "ed2-renamed")
        assert "ed2-renamed" in table_ids(screen) and "ed2" not in table_ids(screen)
        assert keys.get_key(client, admin_creds(), "ed2-renamed").tags == ("web",)

        cursor_to(screen, "ed2-renamed")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextDialog)
        assert "-----BEGIN PUBLIC KEY-----" in app.screen.body and "Certificate  stored" in app.screen.body
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("d")
        await settle(pilot)
        await fill(pilot, "#confirm-word", "ed2-renamed")
        assert "ed2-renamed" not in keys.list_key_ids(client, admin_creds())


async def test_keys_import_pkcs8_with_mechanisms(
    device: Profile, store: ProfileStore, tmp_path: Path
) -> None:
    client = DeviceClient(device)
    private = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "k.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"file-pass"),
        )
    )
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "k")
        await pilot.press("i")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormDialog)
        form.query_one("#field-path", Input).value = str(path)
        form.query_one("#field-pass", Input).value = "file-pass"
        form.query_one("#field-id", Input).value = "imported"
        await fill(pilot, "#field-tags", "ci")
        assert isinstance(app.screen, MechanismPicker)
        assert "NIST P-384" in app.screen.description
        await pilot.press("enter")
        await settle(pilot)
        info = keys.key_details(client, admin_creds(), "imported")
        assert info.type is KeyType.EC_P384 and info.tags == ("ci",)
        assert info.mechanisms == (KeyMechanism.ECDSA_SIGNATURE,)
        assert "imported" in table_ids(screen)


async def test_dashboard_lists_the_sections(device: Profile, store: ProfileStore) -> None:
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        labels = {a.id: a.enabled for a in screen.actions}
        assert labels["users"] and labels["namespaces"] and labels["keys"]


def _self_signed() -> bytes:
    import datetime

    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "test-cert")])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


async def test_command_palette_finds_a_section(device: Profile, store: ProfileStore) -> None:
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press(*"keys")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ActorChooser)  # the Keys section asks who acts
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_administrator_kept_in_keyring_on_request_then_reused(
    device: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("U")
        await settle(pilot)
        await pilot.press("end", "enter")
        await settle(pilot)
        await fill(pilot, "#user-id", ADMIN2[0])
        field = app.screen.query_one("#passphrase", Input)
        field.value = ADMIN2[1]
        await pilot.press("tab", "space", "shift+tab", "enter")  # tick "Remember in the OS keyring"
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert memory_keyring.items == {("hsmconsole", f"{device.name}/admin2"): ADMIN2[1]}
        await pilot.press("escape")
        await settle(pilot)
        assert app.context is not None
        app.context.sessions.close()  # as after the idle time: the next section asks again
        await pilot.press("k")
        await settle(pilot)
        chooser = app.screen
        assert isinstance(chooser, ActorChooser)
        await pilot.press("enter")  # "Sign in as admin2": from the keyring, no prompt
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert "Acting as admin2" in str(app.screen.query_one("#admin-actor", Static).render())


async def test_large_list_pages_and_filters_before_every_detail_is_read(
    device: Profile, store: ProfileStore
) -> None:
    client = DeviceClient(device)
    admin = admin_creds()
    with client.batch(admin) as batch:
        for i in range(620):
            keys.generate_key(
                batch,
                admin,
                KeyType.CURVE25519,
                [KeyMechanism.EDDSA_SIGNATURE],
                key_id=f"k{i:04}",
                tags=["blue"] if i % 10 == 0 else [],
            )
    app = _app(store, device)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_section(pilot, "k")
        assert isinstance(screen, KeysScreen) and screen.catalog is not None
        assert len(screen.catalog) == 622 and len(table_ids(screen)) == PAGE
        assert f"rows 1-{PAGE}" in note(screen)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert table_ids(screen)[0] == f"k{PAGE - 1:04}"  # after ed1 and k0000..: the next page
        assert len(table_ids(screen)) == PAGE
        await fill(pilot, "#admin-filter", "tag:blue")
        await settle(pilot)
        assert screen.catalog.complete
        assert table_ids(screen) == [f"k{i:04}" for i in range(0, 620, 10)]
