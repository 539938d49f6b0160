"""Users: list with a filter, details, add, delete, new passphrase, operator tags."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from hsmconsole.admin import people
from hsmconsole.device import namespaces as dev_ns
from hsmconsole.device import users as dev_users
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.errors import InputError
from hsmconsole.inventory import ADMIN_USER, UserInfo
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret
from screens.admin.forms import Field, FormDialog, TextDialog, tag_difference, tags_form
from screens.admin.listing import AdminListScreen
from screens.admin.reveal import PassphraseReveal
from screens.dialogs import TypedConfirm


def parse_role(text: str) -> UserRole:
    """'o', 'op', 'Operator' -> Operator; the first letters are enough."""
    word = text.strip().lower()
    for role in UserRole:
        if word and role.value.lower().startswith(word):
            return role
    raise InputError(
        f"{text!r} is not a role.", "Type Administrator, Operator, Metrics or Backup (a is enough)."
    )


def user_details(user: UserInfo) -> str:
    rows = [
        ("User id", user.user_id),
        ("Real name", user.real_name or "-"),
        ("Role", user.role.value),
        ("Namespace", user.namespace or "(root)"),
    ]
    if user.role is UserRole.OPERATOR:
        rows.append(("Tags", " ".join(user.tags) or "none: may use every untagged key of its namespace"))
    return "\n".join(f"{k:<10} {v}" for k, v in rows)


class UsersScreen(AdminListScreen[UserInfo]):
    """Users the acting administrator may see; a namespace administrator sees its own namespace."""

    TITLE = "Users"
    NOUN = "users"
    COLUMNS = (("User id", 24), ("Real name", 18), ("Role", 13), ("Tags", 14))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="admin.users.add"),
        Binding("d", "delete", "Delete", id="admin.users.delete"),
        Binding("p", "passphrase", "Passphrase", id="admin.users.passphrase"),
        Binding("t", "tags", "Tags", id="admin.users.tags"),
        Binding("enter", "details", "Details", show=False, id="admin.users.details"),
    ]
    MUTATIONS = frozenset({"add", "delete", "passphrase", "tags"})
    namespaces: frozenset[str] = frozenset()

    def list_ids(self, client: DeviceClient, creds: Credentials) -> list[str]:
        if self.actor is not None and not self.actor.namespace:
            # Which namespaces exist decides whether a root administrator may change `ns~x` users.
            self.namespaces = frozenset(dev_ns.list_namespaces(client, creds))
        return dev_users.list_user_ids(client, creds)

    def read(self, caller: Caller, creds: Credentials, ids: list[str]) -> list[UserInfo]:
        return dev_users.get_users(caller, creds, ids)

    def item_id(self, item: UserInfo) -> str:
        return item.user_id

    def cells(self, item_id: str, item: UserInfo | None) -> tuple[str, ...]:
        if item is None:
            return (item_id, "...", "", "")
        return (item_id, item.real_name, item.role.value, " ".join(item.tags))

    def on_data_table_row_selected(self, event: object) -> None:
        self.action_details()

    # --- actions -------------------------------------------------------------------------------
    def action_details(self) -> None:
        user_id = self.selected_id()
        actor = self.need_actor()
        if user_id is None or actor is None:
            return
        client, creds = self.ctx.client, actor.credentials()
        self.run_core(
            "Read user",
            lambda: dev_users.get_user(client, creds, user_id),
            self._show_details,
            mutation=False,
        )

    def _show_details(self, user: UserInfo) -> None:
        self.app.push_screen(TextDialog(f"User {user.user_id}", user_details(user)))

    def action_add(self) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        where = (
            f"in namespace {actor.namespace}"
            if actor.namespace
            else "system-wide, or ns~name for a namespace"
        )
        form = FormDialog(
            "Add a user",
            [
                Field("id", f"User id ({where})", placeholder="e.g. signer1"),
                Field("name", "Real name", placeholder="e.g. Repository signing"),
                Field(
                    "role", "Role: Administrator, Operator, Metrics or Backup", placeholder="e.g. Operator"
                ),
            ],
            "A strong passphrase is generated and shown once.",
        )
        self.app.push_screen(form, self._add)

    def _add(self, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None:
            return
        try:
            role = parse_role(values["role"] or "Operator")
        except InputError as err:
            self.show_error(err)
            return
        client, journal, namespaces = self.ctx.client, self.ctx.journal, self.namespaces
        self.run_core(
            "Add user",
            lambda: people.create_user(
                client, actor, journal, values["id"], values["name"], role, namespaces
            ),
            lambda result: self._reveal(*result, verb="created"),
            mutation=True,
        )

    def _reveal(self, user_id: str, secret: Secret, *, verb: str) -> None:
        self.changed = True
        self.notify(f"User {user_id} {verb}.", markup=False)
        reveal = PassphraseReveal(
            user_id, secret, self.ctx.vault, self.ctx.profile.name, keyring_allowed=self.ctx.profile.pinned
        )
        self.app.push_screen(reveal, lambda _: self.action_reload())

    def action_delete(self) -> None:
        user_id = self.selected_id()
        actor = self.need_actor()
        if user_id is None or actor is None:
            return
        why = actor.may_manage_user(user_id, self.namespaces)
        if user_id == ADMIN_USER:
            why = "admin is the device's own administrator: it is never deleted here"
        if why:
            self.notify(f"Cannot delete {user_id}: {why}.", severity="warning", markup=False)
            return
        confirm = TypedConfirm(
            f"Delete user {user_id}?",
            f"{user_id} can no longer sign in: whatever uses its passphrase (a PKCS#11 configuration, "
            "scripts, a person) stops working. Its keys are not deleted.",
            user_id,
        )
        self.app.push_screen(confirm, lambda ok: self._delete(user_id) if ok else None)

    def _delete(self, user_id: str) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        client, journal, namespaces = self.ctx.client, self.ctx.journal, self.namespaces
        self.run_core(
            "Delete user",
            lambda: people.delete_user(client, actor, journal, user_id, namespaces),
            self.after_change(f"User {user_id} deleted."),
            mutation=True,
        )

    def action_passphrase(self) -> None:
        user_id = self.selected_id()
        actor = self.need_actor()
        if user_id is None or actor is None:
            return
        if user_id == ADMIN_USER:
            self.notify(
                "The admin passphrase is changed by credential rotation, not here.", severity="warning"
            )
            return
        why = actor.may_manage_user(user_id, self.namespaces)
        if why:
            self.notify(f"Cannot set the passphrase of {user_id}: {why}.", severity="warning", markup=False)
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core(
            "Set passphrase",
            lambda: people.reset_passphrase(client, actor, journal, user_id),
            lambda secret: self._reveal(user_id, secret, verb="has a new passphrase"),
            mutation=True,
        )

    def action_tags(self) -> None:
        user = self.selected_item()
        if user is None:
            if self.selected_id() is not None:
                self.notify("Its details are still being read; try again in a moment.", severity="warning")
            return
        if user.role is not UserRole.OPERATOR:
            self.notify(
                f"{user.user_id} is not an Operator: only operators have tags.",
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(tags_form(user.user_id, user.tags), lambda v: self._tags(user, v))

    def _tags(self, user: UserInfo, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None:
            return
        add, remove = tag_difference(user.tags, values["tags"])
        if not add and not remove:
            self.notify("No change.")
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core(
            "Change tags",
            lambda: people.change_tags(client, actor, journal, user.user_id, add, remove),
            self.after_change(f"Tags of {user.user_id} changed."),
            mutation=True,
        )
