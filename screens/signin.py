"""Sign in a day-to-day user (Operator, Metrics, Backup, Administrator other than admin), checked."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.access.signin import SignedIn, refuse_administrator, sign_in
from hsmconsole.admin.actor import Actor
from hsmconsole.device.client import Credentials, WrongCredentials
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.errors import HsmConsoleError
from hsmconsole.inventory import split_user_id
from screens.base import CoreScreen, DeviceContext, banner, help_binding, highlighted_id, refill_options
from screens.dialogs import AskDialog, PassphraseAnswer, PassphrasePrompt

NEW_USER = "+new"  # option id; NetHSM user ids cannot contain "+"

EXPLAIN = (
    "The passphrase is checked with the device. An Administrator signed in here (never admin, "
    "whose passphrase only a quorum rebuilds) acts in Users, Namespaces and Keys."
)


class SignInScreen(CoreScreen[bool]):
    """Lists the user names remembered for the profile. Enter signs the highlighted one in, taking
    its passphrase from the OS keyring when kept there, else asking for it; f forgets a kept one."""

    TITLE = "Sign in as a user"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "sign_in", "Sign in", id="signin.signin"),
        Binding("f", "forget", "Forget passphrase", id="signin.forget"),
        Binding("escape", "back", "Back", id="signin.back"),
        help_binding("signin"),
    ]
    MUTATIONS = frozenset({"sign_in", "forget", "back"})

    def __init__(self, ctx: DeviceContext, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.store = store
        # Without a verified certificate a kept passphrase could go to anyone on the network path.
        self.keyring_allowed = ctx.profile.pinned
        self.signed_in = False
        self.kept: dict[str, bool] = {}

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: sign in as a user", classes="title", markup=False)
        yield Static(EXPLAIN, classes="hint")
        keyring = (
            f"Passphrases: {self.ctx.vault.description}."
            if self.keyring_allowed
            else "Passphrases: never kept for this profile: its TLS certificate is not verified."
        )
        yield Static(keyring, id="keyring", classes="hint", markup=False)
        yield Static("Users (Enter signs in, f forgets a kept passphrase):", classes="section")
        yield OptionList(id="users", markup=False)
        yield Static("", id="signin-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    # --- the list ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Which remembered users have a kept passphrase: asked off the UI thread (a keyring
        daemon may be slow to answer)."""
        vault, profile, users = self.ctx.vault, self.ctx.profile.name, self.ctx.profile.users
        if not self.keyring_allowed:
            self._listed({})
            return
        self.run_core(
            "Read the OS keyring", lambda: {u: vault.has(profile, u) for u in users}, self._listed,
            mutation=False,
        )

    def _listed(self, kept: dict[str, bool]) -> None:
        self.kept = kept
        options = self.query_one("#users", OptionList)

        def note(user: str) -> str:
            return "passphrase kept in the OS keyring" if kept.get(user) else ""

        refill_options(options, [
            *(Option(f"{user:<28} {note(user)}".rstrip(), id=user) for user in self.ctx.profile.users),
            Option("Another user ...", id=NEW_USER),
        ])
        options.focus()

    def _highlighted(self) -> str | None:
        return highlighted_id(self.query_one("#users", OptionList))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_sign_in()

    # --- signing in ----------------------------------------------------------------------------
    def action_sign_in(self) -> None:
        user = self._highlighted()
        if user is None:
            return
        if user == NEW_USER or not self.keyring_allowed:
            self._prompt("" if user == NEW_USER else user)
            return
        vault, profile = self.ctx.vault, self.ctx.profile.name
        self.run_core(
            "Read the OS keyring", lambda: vault.get(profile, user),
            lambda secret: self._check(Credentials(user, secret), from_keyring=True) if secret
            else self._prompt(user),
            mutation=True,
        )

    def _prompt(self, user: str) -> None:
        prompt = PassphrasePrompt(
            f"Passphrase of {user}" if user else "Sign in as a user",
            user_id=user, vault=self.ctx.vault, allow_remember=self.keyring_allowed,
        )
        self.app.push_screen(prompt, self._typed)

    def _typed(self, answer: PassphraseAnswer | None) -> None:
        if answer is None:
            return
        try:
            refuse_administrator(answer.credentials.user_id)  # before anything is sent
        except HsmConsoleError as err:
            answer.credentials.passphrase.wipe()
            self.show_error(err)
            return
        self._check(answer.credentials, from_keyring=False, remember=answer.remember)

    def _check(self, creds: Credentials, *, from_keyring: bool, remember: bool = False) -> None:
        client, vault, journal = self.ctx.client, self.ctx.vault, self.ctx.journal
        idle = self.ctx.sessions.idle_timeout
        user = creds.user_id
        self._result(f"Checking {user} with the device ...")
        self.run_core(
            "Sign in",
            lambda: sign_in(
                client, vault, creds, from_keyring=from_keyring, remember=remember, journal=journal,
                administrators=True, idle_timeout=idle,
            ),
            self._signed_in,
            mutation=True,
            on_error=lambda err: self._refused(err, user, from_keyring),
        )

    def _signed_in(self, result: SignedIn) -> None:
        self.signed_in = True
        if result.session is not None:
            # The admin screens act as this administrator from now on (admin/actor.current_actor).
            sessions = self.ctx.sessions
            if sessions.administrator is not None:
                sessions.administrator.session.wipe()
            namespace = split_user_id(result.check.user_id)[0]
            sessions.administrator = Actor(result.session, namespace, quorum=False)
        try:
            if self.store is not None:
                self.ctx.profile = self.store.remember_user(self.ctx.profile, result.check.user_id)
            else:
                self.ctx.profile = self.ctx.profile.with_user(result.check.user_id)
        except HsmConsoleError as err:
            self.show_error(err)
        self._result(result.summary())
        self.notify(result.summary(), title="Signed in", markup=False)
        self.reload()

    def _refused(self, err: HsmConsoleError, user: str, from_keyring: bool) -> None:
        self._result(err.title)
        if isinstance(err, WrongCredentials) and from_keyring:
            ask = AskDialog(
                f"The device refused the passphrase kept for {user}",
                "It may have been changed on the device. Forget the one in the OS keyring? "
                "You can then type the current passphrase.",
                "Forget it",
                "Keep it",
            )
            self.app.push_screen(ask, lambda yes: self._forget_confirmed(user, bool(yes), then_prompt=True))
            return
        self.show_error(err)

    # --- forgetting ----------------------------------------------------------------------------
    def action_forget(self) -> None:
        user = self._highlighted()
        if user is None or user == NEW_USER:
            return
        if not self.kept.get(user):
            self.notify(f"No passphrase is kept for {user}.", markup=False)
            return
        ask = AskDialog(
            f"Forget the passphrase kept for {user}?",
            "It is removed from the OS keyring and asked for next time. The user name stays in the "
            "profile; the device is not touched.",
            "Forget it",
        )
        self.app.push_screen(ask, lambda yes: self._forget_confirmed(user, bool(yes)))

    def _forget_confirmed(self, user: str, yes: bool, *, then_prompt: bool = False) -> None:
        if not yes:
            return
        vault, profile = self.ctx.vault, self.ctx.profile.name

        def forgotten(_: None) -> None:
            self.notify(f"The passphrase kept for {user} is forgotten.", markup=False)
            self.reload()
            if then_prompt:
                self._prompt(user)

        self.run_core(
            "Forget a kept passphrase", lambda: vault.forget(profile, user), forgotten, mutation=True
        )

    def _result(self, text: str) -> None:
        self.query_one("#signin-result", Static).update(text)

    def action_back(self) -> None:
        self.dismiss(self.signed_in)
