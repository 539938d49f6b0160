"""Who takes part: custodians, witnesses, K of N (one group or per secret), initial users."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Footer, Input, Label, Static

from hsmconsole.ceremony.plan import (
    DEVICE_SECRETS,
    CeremonyPlan,
    InitialUser,
    SecretPolicy,
    check_person_name,
)
from hsmconsole.errors import InputError
from hsmconsole.models import UserRole
from screens.ceremony.step import COMMON_BINDINGS, CeremonyStep, StepEnd

USER_ROWS = 2  # initial users the form offers; more can be added on the device later
_ROLES = {r.value.casefold(): r for r in UserRole}


def split_names(text: str, what: str) -> tuple[str, ...]:
    """Comma-separated names, each cleaned and checked (InputError names the bad one)."""
    return tuple(check_person_name(part, what) for part in text.split(",") if part.strip())


def _number(text: str, what: str) -> int:
    if not text.strip():
        raise InputError(f"{what}: give a number (at least 2).")
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"{what}: '{text.strip()[:10]}' is not a number.") from None


def _holder(text: str, user_id: str) -> str:
    """The custodian a user's passphrase is shown to, as typed in its 'given to' field."""
    if not text.strip():
        raise InputError(
            f"User {user_id}: choose which custodian receives its passphrase ('given to').",
            "Type one custodian's name, or clear the user id to create no such user.",
        )
    try:
        return check_person_name(text, "custodian")
    except InputError as err:
        raise InputError(f"User {user_id}, given to: {err.title}", err.hint) from None


def _on_roster(names: tuple[str, ...], roster: tuple[str, ...]) -> tuple[str, ...]:
    # Holders typed in another case are the roster's people; unknown ones stay for problems().
    spelled = {c.casefold(): c for c in roster}
    return tuple(spelled.get(n.casefold(), n) for n in names)


class PlainCheckbox(Checkbox):
    """[x] or [ ]: readable in a 16-colour console, where the default's colour alone tells it."""

    @property
    def _button(self) -> Content:
        return Content("[x]" if self.value else "[ ]")


class RosterScreen(CeremonyStep):
    """Builds a CeremonyPlan into `self.plan`; ends DONE when the form parses (plan checks follow
    on the review screen)."""

    STEP_TITLE = "1. roster"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "review", "Review", key_display="Ctrl+N", id="ceremony.roster.review"),
        *COMMON_BINDINGS,
    ]
    DEFAULT_CSS = """
    RosterScreen .row { height: 1; }
    RosterScreen .row Label { width: 18; padding: 0 0 0 1; }
    RosterScreen .row Input { width: 1fr; margin: 0 1 0 0; }
    RosterScreen .row .small { width: 6; }
    RosterScreen .row .medium { width: 13; }
    RosterScreen .row .tag { width: auto; padding: 0 1; }
    RosterScreen Checkbox { border: none; height: 1; padding: 0 1; background: $background; }
    RosterScreen Checkbox:focus { border: none; text-style: bold reverse; }
    RosterScreen #per-secret { height: auto; display: none; }
    RosterScreen #per-secret.-open { display: block; }
    RosterScreen #roster-error { height: auto; }
    RosterScreen #roster-form { height: 1fr; }
    """

    def __init__(self, *, plan: CeremonyPlan | None = None, header: str = "Provisioning ceremony",
                 warning: str = "") -> None:
        super().__init__(header=header, warning=warning)
        self.plan = plan

    def compose(self) -> ComposeResult:
        p = self.plan
        custodians = ", ".join(p.custodians) if p else ""
        single = p is None or len({(x.threshold, x.holders) for x in p.policies}) == 1
        k = str(p.policies[0].threshold) if p else "2"
        yield from self.compose_header()
        yield Static(
            "Names appear on the screens, in the journal and in the report. Tab moves between "
            "fields; Enter in the last field (or Ctrl+N) goes on to the review.",
            classes="c-hint",
        )
        with VerticalScroll(id="roster-form"):
            with Horizontal(classes="row"):
                yield Label("Custodians")
                yield Input(custodians, id="custodians", placeholder="e.g. Alice, Bob, Carol (turn order)")
            with Horizontal(classes="row"):
                yield Label("Witnesses")
                yield Input(", ".join(p.witnesses) if p else "", id="witnesses",
                            placeholder="optional: people who watch but hold no share")
            with Horizontal(classes="row"):
                yield Label("Shares needed")
                yield Input(k, id="threshold", classes="small", restrict=r"[0-9]*")
                yield Static("of all custodians (K of N), for all three passphrases", classes="tag")
            yield PlainCheckbox("A different policy per passphrase (unlock, admin, backup)",
                           value=not single, id="per-secret-box")
            with Vertical(id="per-secret", classes="" if single else "-open"):
                for kind in DEVICE_SECRETS:
                    pol = p.policy(kind) if p else None
                    with Horizontal(classes="row"):
                        yield Label(f"  {kind.value} holders")
                        yield Input(", ".join(pol.holders) if pol else "", id=f"holders-{kind.value}",
                                    placeholder="empty: all custodians")
                        yield Static("needed", classes="tag")
                        # Empty means "as Shares needed"; the placeholder follows that field.
                        yield Input(str(pol.threshold) if pol else "", id=f"k-{kind.value}",
                                    classes="small", restrict=r"[0-9]*", placeholder=k)
            yield Static("Users created after provisioning (empty user id: none)", classes="c-section")
            roles = SuggestFromList([r.value for r in UserRole], case_sensitive=False)
            for i in range(USER_ROWS):
                user = p.users[i] if p and i < len(p.users) else None
                if p is None and i == 0:
                    user = InitialUser("backup", UserRole.BACKUP, "backup", "")
                with Horizontal(classes="row"):
                    yield Label(f"  user {i + 1} id")
                    yield Input(user.user_id if user else "", id=f"user-{i}", classes="medium")
                    yield Static("role", classes="tag")
                    yield Input(user.role.value if user else "Operator", id=f"role-{i}",
                                classes="medium", suggester=roles)
                    yield Static("given to", classes="tag")
                    # A placeholder that cannot be mistaken for a name (a dim word looked like one).
                    yield Input(
                        user.holder if user else "", id=f"holder-{i}", placeholder="(a custodian)"
                    )
            with Horizontal(classes="row"):
                yield Label("Device label")
                yield Input(p.device_label if p else "", id="device-label",
                            placeholder="optional, printed on the report")
        yield Static("", id="roster-error", markup=False, classes="c-error")
        yield Footer()

    def on_mount(self) -> None:
        # Back from the review, a field must keep what was typed: Textual selects all on focus,
        # and the next key would replace it.
        for box in self.query(Input):
            box.select_on_focus = False
        custodians = self.query_one("#custodians", Input)
        custodians.focus()
        custodians.cursor_position = len(custodians.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "threshold":
            for kind in DEVICE_SECRETS:
                self.query_one(f"#k-{kind.value}", Input).placeholder = event.value.strip()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#per-secret").set_class(event.value, "-open")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "device-label":
            self.action_review()
        else:
            self.focus_next()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def build_plan(self) -> CeremonyPlan:
        """The plan as typed; InputError for what cannot even be read (names, numbers, roles)."""
        custodians = split_names(self._value("custodians"), "custodian")
        witnesses = split_names(self._value("witnesses"), "witness")
        k = _number(self._value("threshold"), "Shares needed")
        users: list[InitialUser] = []
        for i in range(USER_ROWS):
            user_id = self._value(f"user-{i}").strip()
            if not user_id:
                continue
            role = _ROLES.get(self._value(f"role-{i}").strip().casefold())
            if role is None:
                raise InputError(
                    f"User {user_id}: the role must be one of {', '.join(r.value for r in UserRole)}."
                )
            holder = _holder(self._value(f"holder-{i}"), user_id)
            users.append(InitialUser(user_id, role, user_id, _on_roster((holder,), custodians)[0]))
        label = " ".join(self._value("device-label").split())[:40]
        if not self.query_one("#per-secret-box", Checkbox).value:
            return CeremonyPlan.single_group(
                custodians, k, witnesses=witnesses, users=tuple(users), device_label=label
            )
        policies = []
        for kind in DEVICE_SECRETS:
            holders = split_names(self._value(f"holders-{kind.value}"), "holder") or custodians
            k_text = self._value(f"k-{kind.value}").strip()
            kk = _number(k_text, f"{kind.value} needed") if k_text else k
            policies.append(SecretPolicy(kind, kk, _on_roster(holders, custodians)))
        return CeremonyPlan(custodians, tuple(policies), witnesses, tuple(users), label)

    def action_review(self) -> None:
        try:
            self.plan = self.build_plan()
        except InputError as err:
            self.query_one("#roster-error", Static).update(f"{err.title} {err.hint}".strip())
            return
        self.dismiss(StepEnd.DONE)
