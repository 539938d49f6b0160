"""Signing in day-to-day users against the emulator: passphrases in the OS keyring only on request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import nethsm
import pytest
from keyring.backends import fail
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static

from hsmconsole.device.client import Credentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.tls import pin_sdk
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret
from screens.admin.users import UsersScreen
from screens.app import HsmConsoleApp
from screens.connect import ConnectScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import AskDialog, PassphrasePrompt
from screens.signin import SignInScreen
from tests.keyrings import MemoryKeyring, installed
from tests.ui.conftest import ADMIN, LockedDevice, settle

USERS = {
    "operator1": (UserRole.OPERATOR, "operator-passphrase-1"),
    "metrics1": (UserRole.METRICS, "metrics-passphrase-1"),
    "backup1": (UserRole.BACKUP, "backup-passphrase-1"),
    "alice": (UserRole.ADMINISTRATOR, "alice-admin-passphrase"),
}


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    with installed(fail.Keyring()):
        yield


@pytest.fixture
def operational(unlocked: LockedDevice, store: ProfileStore) -> Profile:
    """The device unlocked, with one user per role and one key; its profile saved (not ephemeral)."""
    locked = unlocked
    client = locked.client()
    admin = Credentials("admin", Secret(ADMIN))
    for user_id, (role, passphrase) in USERS.items():
        client.add_user(admin, user_id, user_id, role, Secret(passphrase))
    sdk = nethsm.NetHSM(locked.profile.host, auth=nethsm.Authentication("admin", ADMIN))
    pin_sdk(sdk, locked.profile.fingerprint)
    sdk.generate_key(nethsm.KeyType.EC_P256, [nethsm.KeyMechanism.ECDSA_SIGNATURE], 256, "k1")
    sdk.close()
    store.save(locked.profile)
    return locked.profile


def _app(store: ProfileStore, profile: Profile) -> HsmConsoleApp:
    return HsmConsoleApp(store=store, vault=CredentialVault(), profile=profile, emulator=True)


async def _open_signin(pilot: Pilot[Any]) -> SignInScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    await pilot.press("s")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SignInScreen)
    return screen


def _result(screen: SignInScreen) -> str:
    return str(screen.query_one("#signin-result", Static).render())


async def _type_new_user(pilot: Pilot[Any], user: str, passphrase: str, *, remember: bool) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, SignInScreen)
    options = screen.query_one("#users", OptionList)
    options.highlighted = options.option_count - 1  # "Another user ..."
    await pilot.press("enter")
    await settle(pilot)
    await _type_passphrase(pilot, passphrase, user=user, remember=remember)


async def _type_passphrase(pilot: Pilot[Any], passphrase: str, *, user: str = "", remember: bool) -> None:
    assert isinstance(pilot.app.screen, PassphrasePrompt)
    if user:
        await pilot.press(*user, "enter")  # the user id field has the focus when it is empty
    await pilot.press(*passphrase)
    if remember:
        await pilot.press("tab", "space", "shift+tab")
    await pilot.press("enter")
    await settle(pilot)


def _svg(app: HsmConsoleApp) -> str:
    return app.export_screenshot()


async def test_passphrase_kept_on_request_then_reused_without_prompt(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    app = _app(store, operational)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        await _type_new_user(pilot, "operator1", USERS["operator1"][1], remember=True)
        assert pilot.app.screen is screen
        assert "operator1 (Operator): it sees 1 key." in _result(screen)
        assert "now kept in the OS keyring" in _result(screen)
        assert USERS["operator1"][1] not in _svg(app)
        # In the keyring backend, under the profile and user name; the name (only) in the profile.
        key = ("hsmconsole", f"{operational.name}/operator1")
        assert memory_keyring.items == {key: USERS["operator1"][1]}
        assert store.get(operational.name).users == ("operator1",)
        text = store.path.read_text()
        assert "operator1" in text and USERS["operator1"][1] not in text

        # Next time: offered by name, marked as kept, signed in without any prompt.
        await pilot.press("escape")
        await settle(pilot)
        screen = await _open_signin(pilot)
        first = screen.query_one("#users", OptionList).get_option_at_index(0)
        assert "operator1" in str(first.prompt) and "kept in the OS keyring" in str(first.prompt)
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is screen  # no PassphrasePrompt
        assert "came from the OS keyring" in _result(screen)


async def test_not_kept_unless_asked_and_roles_are_recognised(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    app = _app(store, operational)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        await _type_new_user(pilot, "metrics1", USERS["metrics1"][1], remember=False)
        assert "metrics1 (Metrics): it can read the device metrics" in _result(screen)
        await _type_new_user(pilot, "backup1", USERS["backup1"][1], remember=False)
        assert "backup1 (Backup): passphrase accepted" in _result(screen)
        # Backups exist now: the person is told where, not that the console cannot make them.
        assert "choose Backups, then Make a backup" in _result(screen)
        assert "not offer" not in _result(screen)
        assert "was not kept" in _result(screen)
    assert memory_keyring.items == {}
    assert store.get(operational.name).users == ("backup1", "metrics1")  # most recent first


@pytest.mark.slow
async def test_admin_never_signs_in_another_administrator_does_and_acts_in_users(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    app = _app(store, operational)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        await _type_new_user(pilot, "admin", ADMIN, remember=True)
        assert any("admin is the administrator" in n.message for n in app._notifications)
        assert app.context is not None and app.context.sessions.administrator is None
        await _type_new_user(pilot, "alice", USERS["alice"][1], remember=False)
        assert "alice (Administrator): it administers Users" in _result(screen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("U")  # straight to Users: no "who acts?" question, alice acts
        await settle(pilot)
        users_screen = app.screen
        assert isinstance(users_screen, UsersScreen)
        assert "Acting as alice (root Administrator, signed in)" in str(
            users_screen.query_one("#admin-actor", Static).render()
        )
        assert users_screen.query_one("#admin-table", DataTable).row_count == len(USERS) + 1  # and admin
    assert memory_keyring.items == {}  # admin asked to be kept and was not; alice was not asked
    assert store.get(operational.name).users == ("alice",)


async def test_refused_kept_passphrase_is_offered_to_be_forgotten(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    store.save(operational.with_user("metrics1"))
    key = ("hsmconsole", f"{operational.name}/metrics1")
    memory_keyring.items[key] = "an-old-passphrase"  # changed on the device since
    app = _app(store, store.get(operational.name))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AskDialog)
        assert "refused the passphrase kept for metrics1" in app.screen.question
        assert "refused this user name and passphrase" in _result(screen)
        await pilot.press("shift+tab", "enter")  # "Forget it" (the focus starts on "Keep it")
        await settle(pilot)
        assert key not in memory_keyring.items
        assert isinstance(app.screen, PassphrasePrompt)  # asked for the current one at once
        assert app.screen.query_one("#user-id", Input).value == "metrics1"
        await asyncio.sleep(1.1)  # the device refuses this user for a second after a failure
        await _type_passphrase(pilot, USERS["metrics1"][1], remember=True)
        assert "metrics1 (Metrics)" in _result(screen)
    assert memory_keyring.items == {key: USERS["metrics1"][1]}


async def test_forget_a_kept_passphrase(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    store.save(operational.with_user("operator1"))
    key = ("hsmconsole", f"{operational.name}/operator1")
    memory_keyring.items[key] = USERS["operator1"][1]
    app = _app(store, store.get(operational.name))
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_signin(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, AskDialog)
        await pilot.press("enter")  # "Cancel" has the focus: nothing forgotten
        await settle(pilot)
        assert key in memory_keyring.items
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("shift+tab", "enter")
        await settle(pilot)
        assert key not in memory_keyring.items
        assert isinstance(app.screen, SignInScreen)
        option = app.screen.query_one("#users", OptionList).get_option_at_index(0)
        assert "kept" not in str(option.prompt)
    assert store.get(operational.name).users == ("operator1",)  # the name stays


async def test_without_a_keyring_the_prompt_offers_nothing_and_says_so_once(
    operational: Profile, store: ProfileStore, no_keyring: None
) -> None:
    app = _app(store, operational)
    assert not app.vault.available
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        options = screen.query_one("#users", OptionList)
        options.highlighted = options.option_count - 1
        await pilot.press("enter")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, PassphrasePrompt)
        assert not prompt.query("#remember")
        await _type_passphrase(pilot, USERS["backup1"][1], user="backup1", remember=False)
        assert "backup1 (Backup)" in _result(screen)
        await _type_new_user(pilot, "operator1", USERS["operator1"][1], remember=False)
        notes = [n.message.lower() for n in app._notifications]
        assert sum("no os keyring" in m for m in notes) == 1


async def test_insecure_profile_never_uses_the_keyring(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    loose = Profile("loose", operational.host, insecure=True, users=("operator1",))
    store.save(loose)
    memory_keyring.items[("hsmconsole", "loose/operator1")] = USERS["operator1"][1]
    app = _app(store, loose)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_signin(pilot)
        await pilot.press("enter")  # operator1: asked for, even though the keyring has an entry
        await settle(pilot)
        assert isinstance(app.screen, PassphrasePrompt)
        assert not app.screen.query("#remember")
        await _type_passphrase(pilot, USERS["operator1"][1], remember=False)
        assert "operator1 (Operator)" in _result(screen)


async def test_deleting_a_profile_forgets_its_kept_passphrases(
    operational: Profile, store: ProfileStore, memory_keyring: MemoryKeyring
) -> None:
    spare = Profile("spare", "192.0.2.10", users=("operator1",))
    store.save(spare)
    memory_keyring.items[("hsmconsole", "spare/operator1")] = "kept"
    memory_keyring.items[("hsmconsole", f"{operational.name}/operator1")] = "other"
    app = HsmConsoleApp(store=store, vault=CredentialVault())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
        options = app.screen.query_one("#profiles", OptionList)
        options.highlighted = sorted(store.load()).index("spare")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press(*"spare", "enter")
        await settle(pilot)
    assert "spare" not in store.load()
    assert memory_keyring.items == {("hsmconsole", f"{operational.name}/operator1"): "other"}
