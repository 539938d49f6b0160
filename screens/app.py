"""HsmConsoleApp: wiring of dependencies and screens, global keys. Kept small on purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, Provider

from hsmconsole.access.session import DEFAULT_IDLE_TIMEOUT
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.trust import probe_fingerprint
from hsmconsole.journal.chain import Journal
from screens.admin.flows import admin_flows
from screens.admin_session import AdminSessionScreen
from screens.backup.make import MakeBackupScreen
from screens.backup.menu import BackupMenuScreen
from screens.backup_passphrase import BackupPassphraseScreen
from screens.base import DeviceContext, Sessions, as_console_error, quit_refusal
from screens.ceremony.flow import CeremonyScreen
from screens.connect import ConnectScreen
from screens.dashboard import BACKUP_FLOW, DashboardScreen, FlowFactory
from screens.dialogs import ErrorDialog
from screens.help import HelpScreen, help_rows, key_display, screen_name, typing_into
from screens.palette import DashboardCommands
from screens.quorum_unlock import QuorumUnlockScreen
from screens.rotation.flow import RotationScreen
from screens.signin import SignInScreen
from screens.system.overview import SystemScreen

ClientFactory = Callable[[Profile], DeviceClient]


def default_flows(store: ProfileStore | None = None) -> dict[str, FlowFactory]:
    """Dashboard actions that open a flow screen. The ceremony registers "provision" here.
    `store` is where signing in remembers user names (None: for this run only)."""
    return {
        "unlock": QuorumUnlockScreen,
        "admin": AdminSessionScreen,
        "provision": CeremonyScreen,
        "backup-passphrase": BackupPassphraseScreen,
        "signin": lambda ctx: SignInScreen(ctx, store),
        "backup": lambda ctx: BackupMenuScreen(ctx, store),
        BACKUP_FLOW: MakeBackupScreen,  # offered by the dashboard after a flow changed the device
        # backup_first: the factory reset offers to make a backup first (dismisses True if made).
        "system": lambda ctx: SystemScreen(ctx, store, backup_first=MakeBackupScreen),
        "rotate": RotationScreen,
        **admin_flows(),
    }


class HsmConsoleApp(App[int]):
    """Receives every dependency in its constructor; holds no device logic of its own."""

    CSS_PATH = "app.tcss"
    TITLE = "hsmconsole"
    ENABLE_COMMAND_PALETTE = False  # its key and styling get in the way on a 16-colour console
    BINDINGS: ClassVar[list[BindingType]] = [
        # F1 is a priority binding so that it also works in dialogs and where a text field would
        # take "?" as a character; "?" alone is enough elsewhere (screens show it in their footer).
        Binding("f1", "app.help", "Help", priority=True, id="app.help"),
        Binding("question_mark", "app.help", "Help", show=False, id="app.help_question_mark"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        # Textual's own palette key (Ctrl+P) is taken by screens; F10 works on a Linux console.
        Binding("f10", "commands", "Commands", show=False, id="app.commands"),
    ]
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {DashboardCommands}

    def __init__(
        self,
        *,
        store: ProfileStore,
        client_factory: ClientFactory = DeviceClient,
        vault: CredentialVault | None = None,
        journal: Journal | None = None,
        profile: Profile | None = None,
        emulator: bool = False,
        probe: Callable[[str], str] = probe_fingerprint,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        flows: dict[str, FlowFactory] | None = None,
        keyring_notice: bool = True,
        emulator_journal: Journal | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.client_factory = client_factory
        self.vault = vault if vault is not None else CredentialVault()
        self.journal = journal
        # The built-in emulator's own throwaway journal (commands/tui.py): lock, unlock, admin
        # sessions and ceremonies on it are journaled apart from real devices.
        self.emulator_journal = emulator_journal
        self.start_profile = profile
        self.emulator = emulator
        self.probe = probe
        self.idle_timeout = idle_timeout
        self.flows = default_flows(store) if flows is None else flows
        self.context: DeviceContext | None = None
        # Said once per run when there is no OS keyring (snapshot tests switch it off: a toast
        # over every screen would hide what the snapshot is about).
        self._keyring_notice_given = not keyring_notice

    def on_mount(self) -> None:
        self.theme = "ansi-dark"  # the terminal's own 16 colours: readable on a Linux console
        self.show_connections(auto=True)

    def show_connections(self, *, auto: bool = False) -> None:
        screen = ConnectScreen(
            self.store, probe=self.probe, start=self.start_profile, auto=auto, vault=self.vault
        )
        self.push_screen(screen, self._connected)

    def _connected(self, profile: Profile | None) -> None:
        if profile is None:
            self.exit(0)
            return
        try:
            client = self.client_factory(profile)
        except Exception as exc:
            self.push_screen(ErrorDialog(as_console_error(exc)))
            return
        is_emulator = self.emulator and self.start_profile is not None and (
            profile.name == self.start_profile.name
        )
        journal = self.emulator_journal if is_emulator and self.emulator_journal else self.journal
        self.context = DeviceContext(
            profile, client, self.vault, journal, is_emulator, Sessions(idle_timeout=self.idle_timeout)
        )
        self.push_screen(DashboardScreen(self.context, self.flows), self._dashboard_closed)
        if not self.vault.available and not self._keyring_notice_given:
            # Rescue systems have no desktop keyring: say once how passphrases are handled instead.
            self._keyring_notice_given = True
            self.notify(self.vault.notice, title="Passphrases", timeout=8)

    def _dashboard_closed(self, result: str | None) -> None:
        if self.context is not None:
            self.context.sessions.close()  # leaving a device forgets its admin passphrase
            self.context = None
        self.show_connections()

    async def action_quit(self) -> None:
        reason = quit_refusal(self)
        if reason:
            self.notify(reason, title="Not quitting", severity="warning", markup=False)
            return
        self.exit(0)

    def action_commands(self) -> None:
        """The command palette with the dashboard's actions (ENABLE_COMMAND_PALETTE stays off: it
        would put a palette key in every footer and bind Ctrl+P, which screens use)."""
        if not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette(placeholder="Type a section or action, e.g. keys"))

    def action_help_quit(self) -> None:
        """Ctrl+C where no screen gives it a meaning: say how to quit, or why not now, in our
        words (Textual's own toast says "Do you want to quit?", which a ceremony must not ask)."""
        reason = quit_refusal(self)
        text = reason or "Ctrl+Q quits hsmconsole; Esc goes back."
        self.notify(text, title="Ctrl+C", severity="warning" if reason else "information",
                    markup=False)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(screen_name(screen), help_rows(self, screen)))

    def get_key_display(self, binding: Binding) -> str:
        """One style in every footer and help: Enter, Esc, F1, Ctrl+Q (as the screens spell them
        in their own key_display); help shows F1 where a focused field would take "?" as text."""
        if binding.action in ("help", "app.help") and typing_into(self.screen.focused):
            return "F1"
        return binding.key_display or key_display(binding.key)

    def _fatal_error(self) -> None:
        # Textual's default prints a traceback WITH local variables, which could hold a passphrase
        # or a share. Say only what kind of failure it was. (Pilot still re-raises the original.)
        from rich.text import Text

        name = type(self._exception).__name__ if self._exception is not None else "unknown"
        self.bell()
        self._exit_renderables.append(
            Text(f"hsmconsole stopped on an internal error ({name}); nothing secret was printed.")
        )
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        if self.context is not None:
            self.context.sessions.close()


__all__ = ["ClientFactory", "HsmConsoleApp", "default_flows"]
