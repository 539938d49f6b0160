"""Namespaces: list with their users, create (its administrator first, as the device requires), delete."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from hsmconsole.admin import people
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.inventory import NamespaceInfo
from hsmconsole.secrets import Secret
from screens.admin.forms import Field, FormDialog, TextDialog
from screens.admin.listing import AdminListScreen
from screens.admin.reveal import PassphraseReveal
from screens.base import DeviceContext
from screens.dialogs import TypedConfirm

KEYS_HIDDEN = "Key counts are not shown: the device hides namespaced keys from root Administrators."


class NamespacesScreen(AdminListScreen[NamespaceInfo]):
    """Root Administrators only (the device's rule); a namespace administrator is told so."""

    TITLE = "Namespaces"
    NOUN = "namespaces"
    COLUMNS = (("Namespace", 20), ("Users", 5), ("Who", 44))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Create", id="admin.namespaces.add"),
        Binding("d", "delete", "Delete", id="admin.namespaces.delete"),
        Binding("enter", "details", "Details", show=False, id="admin.namespaces.details"),
    ]
    MUTATIONS = frozenset({"add", "delete"})

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__(ctx)
        self.overview: dict[str, NamespaceInfo] = {}

    def list_ids(self, client: DeviceClient, creds: Credentials) -> list[str]:
        assert self.actor is not None
        infos = people.namespace_overview(client, self.actor)
        self.overview = {i.namespace: i for i in infos}
        return [i.namespace for i in infos]

    def read(self, caller: Caller, creds: Credentials, ids: list[str]) -> list[NamespaceInfo]:
        return [self.overview[i] for i in ids if i in self.overview]

    def item_id(self, item: NamespaceInfo) -> str:
        return item.namespace

    def cells(self, item_id: str, item: NamespaceInfo | None) -> tuple[str, ...]:
        if item is None:
            return (item_id, "", "")
        who = ", ".join(item.users) or "(no users)"
        return (item_id, str(len(item.users)), who if item.exists else f"NOT CREATED; users: {who}")

    def scope_text(self) -> str:
        return KEYS_HIDDEN

    def on_data_table_row_selected(self, event: object) -> None:
        self.action_details()

    def action_details(self) -> None:
        info = self.selected_item()
        if info is None:
            return
        body = (
            f"Namespace {info.namespace}\nUsers: {', '.join(info.users) or 'none'}\n\n{KEYS_HIDDEN} "
            f"Sign in as one of its administrators to see its keys."
        )
        self.app.push_screen(TextDialog(f"Namespace {info.namespace}", body))

    def action_add(self) -> None:
        if self.need_actor() is None:
            return
        form = FormDialog(
            "Create a namespace",
            [
                Field("ns", "Namespace", placeholder="e.g. repo"),
                Field("admin", "Its administrator's name (the user becomes ns~name)", "admin"),
                Field("name", "Real name of that administrator", placeholder="e.g. Repository team"),
            ],
            "The device's order: its administrator is created first, then the namespace; after that "
            "only that administrator manages the namespace's users and keys.",
        )
        self.app.push_screen(form, self._add)

    def _add(self, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None:
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core(
            "Create namespace",
            lambda: people.create_namespace(
                client, actor, journal, values["ns"], values["admin"] or "admin", values["name"]
            ),
            lambda result: self._created(values["ns"], *result),
            mutation=True,
        )

    def _created(self, namespace: str, user_id: str, secret: Secret) -> None:
        self.changed = True
        self.notify(f"Namespace {namespace} created with its administrator {user_id}.", markup=False)
        reveal = PassphraseReveal(
            user_id, secret, self.ctx.vault, self.ctx.profile.name, keyring_allowed=self.ctx.profile.pinned
        )
        self.app.push_screen(reveal, lambda _: self.action_reload())

    def action_delete(self) -> None:
        info = self.selected_item()
        if info is None or self.need_actor() is None:
            return
        if not info.exists:
            self.notify(
                f"Namespace {info.namespace} does not exist; delete its users on the Users screen.",
                severity="warning",
                markup=False,
            )
            return
        confirm = TypedConfirm(
            f"Delete namespace {info.namespace}?", people.deletion_consequence(info), info.namespace
        )
        self.app.push_screen(confirm, lambda ok: self._delete(info.namespace) if ok else None)

    def _delete(self, namespace: str) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.run_core(
            "Delete namespace",
            lambda: people.delete_namespace(client, actor, journal, namespace),
            self.after_change(f"Namespace {namespace} and its keys deleted."),
            mutation=True,
        )
