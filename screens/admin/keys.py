"""Keys: list, filters, details, generate, import, export, CSR, certificate, tags, rename, delete, test."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from hsmconsole.admin import keyops
from hsmconsole.admin.keytest import exercise_key
from hsmconsole.device import keys as dev_keys
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.inventory import KEY_KINDS, KeyInfo, KeyMechanism, KeyTestResult
from screens.admin.forms import Field, FormDialog, TextDialog, tag_difference, tags_form
from screens.admin.key_dialogs import GenerateKeyDialog, KeyRequest
from screens.admin.key_files import KeyFileActions
from screens.dialogs import PassphraseAnswer, PassphrasePrompt, TypedConfirm


def short_use(mechs: tuple[KeyMechanism, ...]) -> str:
    uses = []
    if any("Signature" in m.value for m in mechs):
        uses.append("sign")
    if any("Decryption" in m.value for m in mechs):
        uses.append("decrypt")
    if KeyMechanism.AES_ENCRYPTION_CBC in mechs:
        uses.append("encrypt")
    return " ".join(uses)


def type_text(key: KeyInfo) -> str:
    if key.kind.has_length and key.bits and key.type.value == "RSA":
        return f"RSA {key.bits}"
    return key.kind.title.replace(" (Generic)", "")


def key_details(key: KeyInfo) -> str:
    cert = {None: "not read", True: "stored", False: "none"}[key.has_certificate]
    rows = [
        ("Key id", key.key_id),
        ("Type", f"{key.kind.title} ({key.type.value})" + (f", {key.bits} bits" if key.bits else "")),
        ("Mechanisms", ", ".join(m.value for m in key.mechanisms)),
        ("Tags", " ".join(key.tags) or "none: every operator of the namespace may use it"),
        ("Label", key.label or "-"),
        ("Uses", str(key.operations)),
        ("Certificate", cert),
    ]
    text = "\n".join(f"{k:<12} {v}" for k, v in rows)
    return text + (
        "\n\n" + key.public_pem.strip() if key.public_pem else "\n\nNo public key (a Generic key)."
    )


class KeysScreen(KeyFileActions):
    """Keys of the acting administrator's namespace (root keys for a root Administrator)."""

    TITLE = "Keys"
    NOUN = "keys"
    COLUMNS = (("Key id", 24), ("Type", 15), ("Use", 13), ("Tags", 13))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "generate", "Generate", id="admin.keys.generate"),
        Binding("i", "import", "Import", id="admin.keys.import"),
        Binding("x", "test", "Test", id="admin.keys.test"),
        Binding("d", "delete", "Delete", id="admin.keys.delete"),
        Binding("enter", "details", "Details", show=False, id="admin.keys.details"),
        Binding("e", "export", "Export public key", show=False, id="admin.keys.export"),
        Binding("r", "csr", "Certificate request", show=False, id="admin.keys.csr"),
        Binding("c", "certificate", "Certificate", show=False, id="admin.keys.certificate"),
        Binding("t", "tags", "Tags", show=False, id="admin.keys.tags"),
        Binding("m", "move", "Rename (move)", show=False, id="admin.keys.move"),
    ]
    MUTATIONS = frozenset({"generate", "import", "delete", "csr", "certificate", "tags", "move"})

    def list_ids(self, client: DeviceClient, creds: Credentials) -> list[str]:
        return dev_keys.list_key_ids(client, creds)

    def read(self, caller: Caller, creds: Credentials, ids: list[str]) -> list[KeyInfo]:
        return dev_keys.get_keys(caller, creds, ids)

    def item_id(self, item: KeyInfo) -> str:
        return item.key_id

    def cells(self, item_id: str, item: KeyInfo | None) -> tuple[str, ...]:
        if item is None:
            return (item_id, "...", "", "")
        return (item_id, type_text(item), short_use(item.mechanisms), " ".join(item.tags))

    def on_data_table_row_selected(self, event: object) -> None:
        self.action_details()

    # --- reading -------------------------------------------------------------------------------
    def action_details(self) -> None:
        key_id, actor = self.selected_id(), self.need_actor()
        if key_id is None or actor is None:
            return
        client, creds = self.ctx.client, actor.credentials()
        self.run_core(
            "Read key",
            lambda: dev_keys.key_details(client, creds, key_id),
            lambda k: self._text(f"Key {k.key_id}", key_details(k)),
            mutation=False,
        )

    def _text(self, title: str, body: str) -> None:
        self.app.push_screen(TextDialog(title, body))

    def action_export(self) -> None:
        key_id = self.selected_id()
        if key_id is None:
            return
        form = FormDialog(
            f"Export the public key of {key_id}", [Field("path", "File (PEM)", f"{key_id}.pub.pem")]
        )
        self.app.push_screen(form, lambda v: self._export(key_id, v))

    def _export(self, key_id: str, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None or not values["path"]:
            return
        client, path = self.ctx.client, Path(values["path"]).expanduser()
        self.run_core(
            "Export public key",
            lambda: keyops.export_public(client, actor, key_id, path),
            lambda p: self.notify(f"Public key of {key_id} written to {p}.", markup=False),
            mutation=False,
        )

    # --- generate (import, CSR and certificates: key_files.py) --------------------------------
    def action_generate(self) -> None:
        if self.need_actor() is not None:
            self.app.push_screen(GenerateKeyDialog(), self._generate)

    def _generate(self, req: KeyRequest | None) -> None:
        actor = self.need_actor()
        if req is None or actor is None:
            return
        client, journal = self.ctx.client, self.ctx.journal
        self.note(f"Generating a {KEY_KINDS[req.type].title} key (RSA can take a while on a device) ...")
        self.run_core(
            "Generate key",
            lambda: keyops.generate(
                client, actor, journal, req.type, req.mechanisms, req.length, req.key_id, req.tags
            ),
            lambda kid: self.after_change(f"Key {kid} generated.")(kid),
            mutation=True,
        )

    # --- tags, rename, delete ------------------------------------------------------------------
    def action_tags(self) -> None:
        key = self.selected_item()
        if key is None:
            return
        self.app.push_screen(tags_form(f"key {key.key_id}", key.tags), lambda v: self._tags(key, v))

    def _tags(self, key: KeyInfo, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None:
            return
        add, remove = tag_difference(key.tags, values["tags"])
        if not add and not remove:
            self.notify("No change.")
            return
        client, journal = self.ctx.client, self.ctx.journal
        self._run(
            "Change key tags",
            lambda: keyops.change_tags(client, actor, journal, key.key_id, add, remove),
            f"Tags of {key.key_id} changed.",
        )

    def action_move(self) -> None:
        key_id = self.selected_id()
        if key_id is None:
            return
        form = FormDialog(
            f"Rename key {key_id}",
            [Field("new", "New key id", key_id)],
            "The device moves the key within this namespace; tags and certificate stay with it. "
            "Whatever refers to the old id (PKCS#11 configurations, scripts) must be updated.",
        )
        self.app.push_screen(form, lambda v: self._move(key_id, v))

    def _move(self, key_id: str, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None or values["new"] in ("", key_id):
            return
        client, journal, new = self.ctx.client, self.ctx.journal, values["new"]
        self._run(
            "Rename key",
            lambda: keyops.move(client, actor, journal, key_id, new),
            f"Key {key_id} is now {new}.",
        )

    def action_delete(self) -> None:
        key_id = self.selected_id()
        if key_id is None or self.need_actor() is None:
            return
        confirm = TypedConfirm(
            f"Delete key {key_id}?",
            f"The private key {key_id} is destroyed: nothing can be signed or decrypted with it any more "
            "(signatures already made still verify). Only restoring a backup brings it back.",
            key_id,
        )
        self.app.push_screen(confirm, lambda ok: self._delete(key_id) if ok else None)

    def _delete(self, key_id: str) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        client, journal = self.ctx.client, self.ctx.journal
        self._run(
            "Delete key", lambda: keyops.delete(client, actor, journal, key_id), f"Key {key_id} deleted."
        )

    # --- test ----------------------------------------------------------------------------------
    def action_test(self) -> None:
        key_id = self.selected_id()
        if key_id is None:
            return
        prompt = PassphrasePrompt(f"Test {key_id} as an operator", user_id="")
        self.app.push_screen(prompt, lambda answer: self._test(key_id, answer))

    def _test(self, key_id: str, answer: PassphraseAnswer | None) -> None:
        actor = self.need_actor()
        if answer is None or actor is None:
            return
        client, admin, op = self.ctx.client, actor.credentials(), answer.credentials

        def run() -> KeyTestResult:
            try:
                return exercise_key(client, op, dev_keys.key_details(client, admin, key_id))
            finally:
                op.passphrase.wipe()

        self.note(f"Testing {key_id} as {op.user_id} ...")
        self.run_core("Test key", run, self._tested, mutation=False)

    def _tested(self, result: KeyTestResult) -> None:
        verdict = "works" if result.ok else "FAILED"
        self.note(f"Key {result.key_id} {verdict}: {result.detail}.")
        self.notify(
            f"Key {result.key_id} {verdict}: {result.detail}.",
            markup=False,
            severity="information" if result.ok else "error",
            timeout=10,
        )
