"""Device operations of credential rotation: passphrase changes, harmless checks of which is current, TLS."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

import nethsm

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.tls import fingerprint_of
from hsmconsole.errors import AuthError, InputError, StateError
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

# After a failed login the device answers 429 to that user name for one second (reference §3):
# a second check right after a refused one waits this long first.
RATE_LIMIT_PAUSE = 1.1


class CheckResult(enum.Enum):
    """What the device said about a candidate passphrase."""

    CURRENT = "current"  # the device accepted it as its current passphrase
    NOT_CURRENT = "not current"  # the device refused it (403 / 401)


@dataclass(frozen=True)
class UserInfo:
    user_id: str
    role: UserRole
    real_name: str = ""

    @property
    def namespace(self) -> str:
        return self.user_id.split("~", 1)[0] if "~" in self.user_id else ""


# --- the three device passphrases: changes (reference §6.7 and §6.3) ---------------------------
#
# * unlock: PUT /config/unlock-passphrase {newPassphrase, currentPassphrase}; Operational, R-Admin;
#   a wrong current one -> 403 "unlock passphrase is incorrect."; 400 if the new one is not 10..200.
# * backup: PUT /config/backup-passphrase, same body; current must match (or be "" when none is
#   set) -> else 403 "backup passphrase is incorrect."; a new salt every time.
# * admin: POST /users/admin/passphrase {passphrase}; the request is authenticated as an
#   Administrator (the current passphrase is the Basic-auth password, not a body field);
#   401 for a wrong one; 404 for a missing user.


def change_unlock(client: DeviceClient, admin: Credentials, new: Secret, current: Secret) -> None:
    client.set_unlock_passphrase(admin, new, current)


def change_backup(client: DeviceClient, admin: Credentials, new: Secret, current: Secret) -> None:
    client.set_backup_passphrase(admin, new, current)


def change_admin(client: DeviceClient, admin: Credentials, new: Secret) -> None:
    client.set_admin_passphrase(admin, new)


# --- checks: which passphrase is current, without changing what matters -----------------------


def check_unlock(client: DeviceClient, admin: Credentials, candidate: Secret) -> CheckResult:
    """Re-set the unlock passphrase to itself with `candidate` as the current one: 204 means it is
    current (the device re-derives the same passphrase under a new salt: nothing a person notices),
    403 means it is not, and nothing changed. Needs an Operational device and an admin."""
    return _check(
        lambda: client.call(
            "Check the unlock passphrase",
            admin,
            lambda s: s.set_unlock_passphrase(candidate.reveal_str(), candidate.reveal_str()),
            {403: _NotCurrent("the unlock passphrase is not this one")},
        )
    )


def check_backup(client: DeviceClient, admin: Credentials, candidate: Secret) -> CheckResult:
    """The backup passphrase re-set to itself (reference §6.7: a new salt, the same passphrase; old
    backups still open with it). 403 means the candidate is not current; nothing changed."""
    return _check(
        lambda: client.call(
            "Check the backup passphrase",
            admin,
            lambda s: s.set_backup_passphrase(
                candidate.reveal_str(), current_passphrase=candidate.reveal_str()
            ),
            {403: _NotCurrent("the backup passphrase is not this one")},
        )
    )


def check_admin(client: DeviceClient, user_id: str, candidate: Secret) -> CheckResult:
    """Sign in with a harmless read (GET /users). 401 means not current. A refused attempt makes
    the device answer 429 to this user for a second: one retry after waiting covers it."""

    def attempt() -> CheckResult:
        try:
            client.call(
                "Check the admin passphrase",
                Credentials(user_id, candidate),
                lambda s: s.list_users(),
                {401: _NotCurrent("the admin passphrase is not this one")},
            )
        except _NotCurrent:
            return CheckResult.NOT_CURRENT
        return CheckResult.CURRENT

    try:
        return attempt()
    except AuthError as exc:
        if "too many" not in exc.title:
            raise
    time.sleep(RATE_LIMIT_PAUSE)
    return attempt()


def check_unlock_locked(client: DeviceClient, candidate: Secret) -> CheckResult:
    """On a Locked device the only check is POST /unlock: right -> the device unlocks (what the
    person wants next anyway), wrong -> 403 and nothing changes."""

    def attempt() -> CheckResult:
        try:
            client.call(
                "Unlock with the candidate passphrase",
                None,
                lambda s: s.unlock(candidate.reveal_str()),
                {403: _NotCurrent("the unlock passphrase is not this one")},
            )
        except _NotCurrent:
            return CheckResult.NOT_CURRENT
        return CheckResult.CURRENT

    try:
        return attempt()
    except AuthError as exc:
        if "too many" not in exc.title:
            raise
    time.sleep(RATE_LIMIT_PAUSE)
    return attempt()


class _NotCurrent(AuthError):
    pass


def _check(fn: Callable[[], object]) -> CheckResult:
    try:
        fn()
    except _NotCurrent:
        return CheckResult.NOT_CURRENT
    return CheckResult.CURRENT


# --- day-to-day users ---------------------------------------------------------------------------


def list_user_info(client: DeviceClient, admin: Credentials) -> list[UserInfo]:
    """Every user the admin may see, with role (GET /users, then GET /users/{id})."""

    def read(s: nethsm.NetHSM) -> list[UserInfo]:
        out = []
        for user_id in s.list_users():
            user = s.get_user(user_id)
            out.append(UserInfo(user_id, UserRole(user.role.value), user.real_name))
        return out

    return client.call("List users", admin, read)


def set_user_passphrase(client: DeviceClient, admin: Credentials, user_id: str, new: Secret) -> None:
    """POST /users/{id}/passphrase as an Administrator of the user's namespace (reference §4.2):
    an R-Admin gets 403 for users of an existing namespace; 404 for a missing user."""
    client.call(
        f"Set the passphrase of {user_id}",
        admin,
        lambda s: s.set_passphrase(user_id, new.reveal_str()),
        {
            404: InputError(f"Set the passphrase of {user_id}: there is no such user.", ""),
            403: AuthError(
                f"Set the passphrase of {user_id}: this administrator may not change it.",
                "Users of a created namespace are managed by that namespace's administrators.",
            ),
        },
    )


# --- TLS ----------------------------------------------------------------------------------------

TLS_KEY_TYPES = ("RSA", "Curve25519", "EC_P256", "EC_P384", "EC_P521",
                 "BrainpoolP256", "BrainpoolP384", "BrainpoolP512")  # fmt: skip


@dataclass(frozen=True)
class TlsCertificate:
    """A certificate chain as PEM (public) and the SHA-256 fingerprint of its first certificate."""

    pem: str
    fingerprint: str


def certificate_of(pem: str) -> TlsCertificate:
    """Fingerprint the first certificate of a PEM chain (what the device presents in TLS)."""
    import base64
    import re

    found = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    if found is None:
        raise InputError("That is not a PEM certificate.", "Expected -----BEGIN CERTIFICATE-----.")
    try:
        der = base64.b64decode("".join(found.group(1).split()), validate=True)
    except ValueError:
        raise InputError("The PEM certificate is damaged (not base64).") from None
    return TlsCertificate(pem, fingerprint_of(der))


def read_tls_certificate(client: DeviceClient, admin: Credentials) -> TlsCertificate:
    return certificate_of(client.call("Read the TLS certificate", admin, lambda s: s.get_certificate()))


def generate_tls_key(
    client: DeviceClient, admin: Credentials, key_type: str, length: int | None = None
) -> TlsCertificate:
    """POST /config/tls/generate, then GET /config/tls/cert.pem in the same SDK session: the
    second request travels over the connection opened (and pinned) before the change, so the
    new certificate is read over TLS that is still trusted. The caller pins it only after a
    person has compared it."""
    if key_type not in TLS_KEY_TYPES:
        raise InputError(f"'{key_type}' is not a TLS key type.", "Use " + ", ".join(TLS_KEY_TYPES))
    if key_type == "RSA" and (length is None or not 1024 <= length <= 8192):
        raise InputError("An RSA TLS key needs a length of 1024 to 8192 bits.", "2048 or 3072 are usual.")

    def run(s: nethsm.NetHSM) -> str:
        s.generate_tls_key(nethsm.TlsKeyType.from_string(key_type), length if key_type == "RSA" else None)
        return s.get_certificate()

    return certificate_of(client.call("Generate a new TLS key", admin, run))


def tls_csr(client: DeviceClient, admin: Credentials, common_name: str, **fields: str) -> str:
    """A CSR for the device's current TLS key (POST /config/tls/csr.pem)."""
    if not common_name.strip():
        raise InputError("A CSR needs a common name.", "For example the device's host name.")
    return client.call(
        "Make a TLS certificate request",
        admin,
        lambda s: s.csr(common_name=common_name, **fields),  # type: ignore[arg-type]
    )


def upload_tls_certificate(client: DeviceClient, admin: Credentials, pem: str) -> TlsCertificate:
    """PUT /config/tls/cert.pem (first certificate must match the TLS key, else 400), then read it
    back over the same, still-trusted connection."""
    cert = certificate_of(pem)

    def run(s: nethsm.NetHSM) -> str:
        s.set_certificate(pem.encode("ascii"))
        return s.get_certificate()

    got = certificate_of(client.call("Upload the TLS certificate", admin, run))
    if got.fingerprint != cert.fingerprint:
        raise StateError(
            "The device reports another certificate than the one uploaded.",
            "Nothing is pinned; read the certificate on the device's own console.",
        )
    return got


__all__ = [
    "TLS_KEY_TYPES",
    "CheckResult",
    "TlsCertificate",
    "UserInfo",
    "certificate_of",
    "change_admin",
    "change_backup",
    "change_unlock",
    "check_admin",
    "check_backup",
    "check_unlock",
    "check_unlock_locked",
    "generate_tls_key",
    "list_user_info",
    "read_tls_certificate",
    "set_user_passphrase",
    "tls_csr",
    "upload_tls_certificate",
]
