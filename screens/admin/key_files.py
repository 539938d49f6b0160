"""Keys screen actions that read or write files: import a private key, certificate requests, certificates."""

from __future__ import annotations

from pathlib import Path

from hsmconsole.admin import keyops
from hsmconsole.device import keys as dev_keys
from hsmconsole.device.keyfiles import LoadedKey, load_private_key
from hsmconsole.errors import InputError
from hsmconsole.inventory import KEY_KINDS, CsrSubject, KeyInfo, KeyMechanism
from hsmconsole.secrets import Secret
from screens.admin.forms import Field, FormDialog
from screens.admin.key_dialogs import CertificateDialog, MechanismPicker
from screens.admin.listing import AdminListScreen
from screens.dialogs import TypedConfirm


def csr_subject(values: dict[str, str]) -> CsrSubject:
    return CsrSubject(
        values["cn"],
        country=values["c"].upper(),
        state_or_province=values["st"],
        locality=values["l"],
        organization=values["o"],
        organizational_unit=values["ou"],
        email_address=values["email"],
        subject_alt_names=tuple(values["san"].replace(",", " ").split()),
    )


class KeyFileActions(AdminListScreen[KeyInfo]):
    """Import (i), certificate request (r) and certificate (c) for the Keys screen."""

    def _run(self, label: str, fn: object, message: str) -> None:
        self.run_core(label, fn, self.after_change(message), mutation=True)  # type: ignore[arg-type]

    def action_import(self) -> None:
        if self.need_actor() is None:
            return
        form = FormDialog(
            "Import a private key",
            [
                Field("path", "File: PEM, PKCS#8, DER, PKCS#12, or a raw 16/24/32-byte AES key"),
                Field("pass", "The file's passphrase (empty if none)", password=True),
                Field("id", "Key id (empty: the device chooses one)"),
                Field("tags", "Tags (space-separated)"),
            ],
            "The key is read here and sent over the pinned TLS connection; no copy is kept.",
        )
        self.app.push_screen(form, self._import_read)

    def _import_read(self, values: dict[str, str] | None) -> None:
        if values is None or not values["path"]:
            return
        path = Path(values["path"]).expanduser()
        passphrase = Secret(values.pop("pass"), "key file passphrase") if values.get("pass") else None

        def load() -> LoadedKey:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(
                    f"Cannot read {path} ({exc.strerror or exc.__class__.__name__}).", ""
                ) from None
            try:
                return load_private_key(data, passphrase)
            finally:
                if passphrase is not None:
                    passphrase.wipe()

        self.run_core("Read key file", load, lambda loaded: self._import_pick(loaded, values), mutation=False)

    def _import_pick(self, loaded: LoadedKey, values: dict[str, str]) -> None:
        picker = MechanismPicker(loaded.describe(), KEY_KINDS[loaded.type])
        self.app.push_screen(picker, lambda mechs: self._import_send(loaded, values, mechs))

    def _import_send(
        self, loaded: LoadedKey, values: dict[str, str], mechs: tuple[KeyMechanism, ...] | None
    ) -> None:
        actor = self.need_actor()
        if mechs is None or actor is None:
            loaded.material.wipe()
            return
        client, journal = self.ctx.client, self.ctx.journal
        tags = tuple(values["tags"].replace(",", " ").split())
        self.run_core(
            "Import key",
            lambda: keyops.import_private(client, actor, journal, loaded, mechs, values["id"], tags),
            lambda kid: self.after_change(f"Key {kid} imported.")(kid),
            mutation=True,
        )

    def action_csr(self) -> None:
        key_id = self.selected_id()
        if key_id is None:
            return
        fields = [
            Field("cn", "Common name (CN)"),
            Field("o", "Organization (O)"),
            Field("ou", "Organizational unit (OU)"),
            Field("c", "Country (two letters)"),
            Field("st", "State or province"),
            Field("l", "Locality"),
            Field("email", "E-mail address"),
            Field("san", "Subject alternative names (DNS names, space-separated)"),
            Field("path", "Write the request to (PEM)", f"{key_id}.csr.pem"),
        ]
        self.app.push_screen(
            FormDialog(f"Certificate request for {key_id}", fields), lambda v: self._csr(key_id, v)
        )

    def _csr(self, key_id: str, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None:
            return
        try:
            subject = csr_subject(values)
        except InputError as err:
            self.show_error(err)
            return
        client, journal, path = self.ctx.client, self.ctx.journal, Path(values["path"]).expanduser()
        self.run_core(
            "Certificate request",
            lambda: keyops.write_csr(client, actor, journal, key_id, subject, path),
            lambda p: self.notify(f"Certificate request written to {p}.", markup=False),
            mutation=True,
        )

    def action_certificate(self) -> None:
        key_id, actor = self.selected_id(), self.need_actor()
        if key_id is None or actor is None:
            return
        client, creds = self.ctx.client, actor.credentials()

        def read() -> str | None:
            data = dev_keys.get_certificate(client, creds, key_id)
            return None if data is None else keyops.describe_certificate(data)

        self.run_core("Read certificate", read, lambda text: self._cert_shown(key_id, text), mutation=False)

    def _cert_shown(self, key_id: str, text: str | None) -> None:
        self.app.push_screen(
            CertificateDialog(key_id, text), lambda what: self._cert_action(key_id, what or "")
        )

    def _cert_action(self, key_id: str, what: str) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        if what == "upload":
            form = FormDialog(
                f"Store a certificate with {key_id}", [Field("path", "Certificate file (PEM or DER)")]
            )
            self.app.push_screen(form, lambda v: self._upload(key_id, v))
        elif what == "delete":
            confirm = TypedConfirm(
                f"Delete the certificate of {key_id}?",
                "Applications that read the certificate from the device (PKCS#11) no longer "
                "find it; the key itself stays.",
                key_id,
            )
            self.app.push_screen(confirm, lambda ok: self._delete_cert(key_id) if ok else None)

    def _upload(self, key_id: str, values: dict[str, str] | None) -> None:
        actor = self.need_actor()
        if values is None or actor is None or not values["path"]:
            return
        client, journal, path = self.ctx.client, self.ctx.journal, Path(values["path"]).expanduser()
        self._run(
            "Upload certificate",
            lambda: keyops.upload_certificate(client, actor, journal, key_id, path),
            f"Certificate stored with {key_id}.",
        )

    def _delete_cert(self, key_id: str) -> None:
        actor = self.need_actor()
        if actor is None:
            return
        client, journal = self.ctx.client, self.ctx.journal
        self._run(
            "Delete certificate",
            lambda: keyops.delete_certificate(client, actor, journal, key_id),
            f"Certificate of {key_id} deleted.",
        )
