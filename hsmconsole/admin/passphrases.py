"""Where the configuration's users' passphrases come from: read a 0600 file or the keyring, or generate."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hsmconsole import fileio
from hsmconsole.admin.model import PassphraseSource, PassphraseStore, UserSpec
from hsmconsole.custody.passgen import fits_nethsm, generate_passphrase
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import InputError, StateError
from hsmconsole.secrets import Secret

_MAX = 4096  # a NetHSM passphrase is at most 200 bytes; anything near this is the wrong file


def read_passphrase_file(path: Path, user_id: str) -> Secret:
    """The passphrase in `path`, without the one line ending an editor adds."""
    try:
        with open(path, "rb") as fh:
            data = bytearray(fh.read(_MAX + 1))
    except OSError as exc:
        raise InputError(
            f"cannot read the passphrase file of {user_id} ({path}): {exc.strerror}",
            "Check the path in the configuration; nothing more was sent to the device.",
        ) from None
    try:
        if data.endswith(b"\r\n"):
            del data[-2:]
        elif data.endswith(b"\n"):
            del data[-1:]
        secret = Secret(data, f"passphrase of {user_id}")
    finally:
        data[:] = bytes(len(data))
    if not fits_nethsm(secret):
        secret.wipe()
        raise InputError(
            f"the passphrase file of {user_id} ({path}) does not hold a usable passphrase",
            "The device takes 10 to 200 bytes of UTF-8 text.",
        )
    return secret


class Passphrases:
    """Reads (and, for a user about to be created, makes) the passphrases the file points at.

    `profile` names the keyring entries (`profile/user`, as the console's sign-in keeps them)."""

    def __init__(self, profile: str, vault: CredentialVault | None = None) -> None:
        self.profile = profile
        self._vault = vault

    @property
    def vault(self) -> CredentialVault:
        if self._vault is None:
            self._vault = CredentialVault()
        return self._vault

    def existing(self, user: UserSpec) -> Secret | None:
        """The user's passphrase if its source already holds one, else None."""
        source = user.passphrase
        if source.store is PassphraseStore.FILE:
            assert source.path is not None
            if not source.path.exists():
                return None
            return read_passphrase_file(source.path, user.user_id)
        return self.vault.get(self.profile, user.user_id)

    def for_use(self, user: UserSpec) -> Secret:
        """The passphrase of an existing user (to act as it): it must be there."""
        found = self.existing(user)
        if found is None:
            raise StateError(
                f"no passphrase for {user.user_id}: {_where(user.passphrase)} holds none",
                f"{user.user_id} exists on the device, so a new one cannot simply be generated: "
                "put its passphrase there (or set a new one on the device) and run again.",
            )
        return found

    def prepare(self, users: list[UserSpec]) -> int:
        """Generate the files of all these users that have none yet, made durable together (one
        journal commit rather than one per file: it dominated creating many users). Each is on
        disk before any of these users is created. Returns how many were written."""
        written: list[Path] = []
        for user in users:
            source = user.passphrase
            if source.store is not PassphraseStore.FILE or not source.generate:
                continue
            assert source.path is not None
            if source.path.exists():
                continue
            secret = generate_passphrase(label=f"passphrase of {user.user_id}")
            try:
                fileio.write_private(source.path, secret.reveal(), sync=False)
            except OSError as exc:
                raise InputError(
                    f"cannot write the passphrase file of {user.user_id} ({source.path}): {exc.strerror}",
                    "Nothing was created for this user.",
                ) from None
            finally:
                secret.wipe()
            written.append(source.path)
        fileio.sync_paths(written)
        return len(written)

    def for_new_user(self, user: UserSpec) -> Secret:
        """The passphrase to create `user` with: the one already at its source (a run that stopped
        after writing it continues with it), or a new one written there first, so that a
        passphrase the device has is never one that nobody kept."""
        found = self.existing(user)
        if found is not None:
            return found
        source = user.passphrase
        if not source.generate:
            raise InputError(f"no passphrase for {user.user_id}: {_where(source)} holds none", "")
        secret = generate_passphrase(label=f"passphrase of {user.user_id}")
        try:
            if source.store is PassphraseStore.FILE:
                assert source.path is not None
                try:
                    fileio.write_private(source.path, secret.reveal())
                except OSError as exc:
                    raise InputError(
                        f"cannot write the passphrase file of {user.user_id} ({source.path}): {exc.strerror}",
                        "Nothing was created for this user.",
                    ) from None
            elif not self.vault.set(self.profile, user.user_id, secret):
                raise StateError(
                    f"cannot keep the passphrase of {user.user_id} in the OS keyring",
                    f'{self.vault.notice} Use generate = true, file = "..." instead.',
                )
        except BaseException:
            secret.wipe()
            raise
        return secret


def _where(source: PassphraseSource) -> str:
    return f"the file {source.path}" if source.store is PassphraseStore.FILE else "the OS keyring"


def wipe_all(secrets: dict[str, Secret]) -> None:
    for secret in secrets.values():
        with contextlib.suppress(Exception):
            secret.wipe()
    secrets.clear()
