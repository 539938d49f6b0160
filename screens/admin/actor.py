"""Choose who administers: the quorum admin session, or an Administrator user (typed or from the keyring)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from hsmconsole.admin.actor import Actor, actor_from_session, sign_in_administrator
from hsmconsole.device.client import Credentials, WrongCredentials
from hsmconsole.errors import HsmConsoleError
from hsmconsole.secrets import Secret
from screens.base import DeviceContext, as_console_error
from screens.dialogs import PassphraseAnswer, PassphrasePrompt

QUORUM = "+quorum"
TYPED = "+typed"  # NetHSM user ids cannot contain "+"


def current_actor(ctx: DeviceContext) -> Actor | None:
    """Who administers now, without asking: the quorum session wins over a signed-in user."""
    ctx.sessions.expire_idle()
    admin = ctx.sessions.admin
    if admin is not None and admin.open:
        return actor_from_session(admin)
    chosen = ctx.sessions.administrator
    return chosen if chosen is not None and chosen.open else None


class ActorChooser(ModalScreen[Actor | None]):
    """Lists the ways to act: the quorum session (when open), remembered users of this profile
    (their passphrase from the OS keyring when kept there), or typing a user id and passphrase."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="admin.actor.cancel")]

    def __init__(self, ctx: DeviceContext, section: str) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.section = section
        self.keyring = ctx.profile.pinned and ctx.vault.available

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -prompt"):
            yield Label(f"{self.section}: who acts?", classes="dialog-title", markup=False)
            yield Static(
                "Administration needs an Administrator: the quorum admin session, or another "
                "Administrator user (a namespace administrator ns~user manages only its namespace).",
                classes="hint",
                markup=False,
            )
            yield OptionList(id="actors", markup=False)
            yield Static("", id="actor-status", markup=False)

    def on_mount(self) -> None:
        options = self.query_one("#actors", OptionList)
        admin = self.ctx.sessions.admin
        if admin is not None and admin.open:
            options.add_option(Option(f"The quorum admin session ({admin.user_id})", id=QUORUM))
        for user in self.ctx.profile.users:
            if user != "admin":
                options.add_option(Option(f"Sign in as {user}", id=user))
        options.add_option(Option("Another Administrator user ...", id=TYPED))
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        choice = event.option.id or TYPED
        if choice == QUORUM and self.ctx.sessions.admin is not None:
            self.dismiss(actor_from_session(self.ctx.sessions.admin))
        elif choice == TYPED:
            self._prompt("")
        elif self.keyring:
            self._status(f"Reading the OS keyring for {choice} ...")
            vault, profile = self.ctx.vault, self.ctx.profile.name
            self.run_worker(
                lambda: vault.get(profile, choice), thread=True, exit_on_error=False, name=f"keyring:{choice}"
            )
        else:
            self._prompt(choice)

    def on_worker_state_changed(self, event: object) -> None:
        from textual.worker import Worker, WorkerState

        assert isinstance(event, Worker.StateChanged)
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if worker.name.startswith("keyring:"):
            user = worker.name.split(":", 1)[1]
            secret = worker.result if state is WorkerState.SUCCESS else None
            if isinstance(secret, Secret):
                self._check(Credentials(user, secret), from_keyring=True, remember=False)
            else:
                self._prompt(user)
        elif worker.name == "check":
            if state is WorkerState.SUCCESS and isinstance(worker.result, tuple):
                actor, kept = worker.result
                self.ctx.sessions.administrator = actor
                if kept and not self._from_keyring:
                    self.notify(f"The passphrase of {actor.user_id} is kept in the OS keyring.", markup=False)
                self.dismiss(actor)
            else:
                err = as_console_error(worker.error)
                self._status(err.title)
                if isinstance(err, WrongCredentials) and self._from_keyring:
                    self._prompt(self._user)
                elif err.kind.value in ("input", "state", "auth"):
                    text = f"{err.title}\n{err.hint}" if err.hint else err.title
                    self.notify(text, severity="warning", markup=False, timeout=10)
                else:
                    from screens.dialogs import ErrorDialog

                    self.app.push_screen(ErrorDialog(err))

    def _prompt(self, user: str) -> None:
        prompt = PassphrasePrompt(
            f"Passphrase of {user}" if user else "Administrator user",
            user_id=user,
            vault=self.ctx.vault,
            allow_remember=self.ctx.profile.pinned,
        )
        self.app.push_screen(prompt, self._typed)

    def _typed(self, answer: PassphraseAnswer | None) -> None:
        if answer is not None:
            self._check(answer.credentials, from_keyring=False, remember=answer.remember)

    def _check(self, creds: Credentials, *, from_keyring: bool, remember: bool) -> None:
        ctx = self.ctx
        self._from_keyring, self._user = from_keyring, creds.user_id
        self._status(f"Checking {creds.user_id} with the device ...")

        def run() -> tuple[Actor, bool]:
            return sign_in_administrator(
                ctx.client,
                ctx.vault,
                creds,
                from_keyring=from_keyring,
                remember=remember,
                journal=ctx.journal,
                idle_timeout=ctx.sessions.idle_timeout,
            )

        self.run_worker(run, thread=True, exit_on_error=False, name="check", exclusive=True)

    def _status(self, text: str) -> None:
        self.query_one("#actor-status", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


def describe_error(err: HsmConsoleError) -> str:
    return f"{err.title} {err.hint}".strip()
