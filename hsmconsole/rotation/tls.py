"""The device's TLS key and certificate rotated: the new one read over the old pin, pinned once compared."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.device import passphrases as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.passphrases import TlsCertificate
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.tls import MISMATCH_HINT, CertificateMismatch, normalize_fingerprint
from hsmconsole.device.trust import probe_fingerprint
from hsmconsole.errors import InputError, StateError
from hsmconsole.journal.chain import Journal, Outcome, record


@dataclass(frozen=True)
class TlsChange:
    """A certificate change the device made and reported over the still-pinned connection."""

    old_fingerprint: str
    new: TlsCertificate
    how: str  # "generated RSA 3072", "uploaded CA-signed certificate"


def _journal(journal: Journal | None, client: DeviceClient, action: str, outcome: Outcome, detail: str,
             actor: str) -> None:  # fmt: skip
    record(journal, action, outcome, actor=actor, device_id=client.profile.name[:64], detail=detail[:300])


def _need_pin(client: DeviceClient) -> str:
    pinned = client.profile.fingerprint
    if pinned is None:
        raise StateError(
            "The profile has no pinned certificate, so the new one could not be read over trusted TLS.",
            "Pin the current certificate first (connect and compare it), then rotate.",
        )
    return pinned


def generate_key(
    client: DeviceClient,
    admin: Credentials,
    key_type: str,
    length: int | None = None,
    *,
    journal: Journal | None = None,
) -> TlsChange:
    """A new TLS key and self-signed certificate on the device; from now on new connections with
    the old pin are refused until the person pins the new fingerprint (`pin`)."""
    old = _need_pin(client)
    new = dev.generate_tls_key(client, admin, key_type, length)
    how = f"generated {key_type}" + (f" {length}" if key_type == "RSA" else "")
    _journal(
        journal,
        client,
        "rotation.tls-changed",
        Outcome.OK,
        f"{how}; old SHA-256 {old}; new SHA-256 {new.fingerprint}; not pinned yet",
        admin.user_id,
    )
    return TlsChange(old, new, how)


def make_csr(client: DeviceClient, admin: Credentials, common_name: str, **fields: str) -> str:
    """A CSR for the device's current TLS key, for a CA to sign (public: may be written anywhere)."""
    _need_pin(client)
    return dev.tls_csr(client, admin, common_name, **fields)


def upload_certificate(
    client: DeviceClient, admin: Credentials, pem: str, *, journal: Journal | None = None
) -> TlsChange:
    """Upload a CA-signed certificate for the device's TLS key (the device refuses one that does
    not match its key), read back over the connection that is still pinned."""
    old = _need_pin(client)
    new = dev.upload_tls_certificate(client, admin, pem)
    _journal(
        journal,
        client,
        "rotation.tls-changed",
        Outcome.OK,
        f"uploaded certificate; old SHA-256 {old}; new SHA-256 {new.fingerprint}; not pinned yet",
        admin.user_id,
    )
    return TlsChange(old, new, "uploaded certificate")


def pin(
    change: TlsChange,
    profile: Profile,
    *,
    compared: str,
    store: ProfileStore | None = None,
    journal: Journal | None = None,
    actor: str = "admin",
    probe: Callable[[str], str] = probe_fingerprint,
) -> Profile:
    """Pin the new certificate after a person compared it: `compared` is the fingerprint they read
    on the device's own console (or its last groups, at least 8 hex digits). The device must also
    present exactly that certificate right now."""
    typed = "".join(ch for ch in compared.upper() if ch in "0123456789ABCDEF")
    expected = change.new.fingerprint.replace(":", "")
    if len(typed) < 8 or not expected.endswith(typed):
        raise InputError(
            "What you typed does not match the end of the new fingerprint.",
            "Read at least the last 8 hex digits from the device's own console; nothing was pinned.",
        )
    presented = normalize_fingerprint(probe(profile.host))
    if not hmac.compare_digest(presented, change.new.fingerprint):
        raise CertificateMismatch(
            "The device now presents a certificate other than the one it reported.",
            "Nothing was pinned. " + MISMATCH_HINT,
            pinned=change.new.fingerprint,
            presented=presented,
        )
    updated = profile.with_fingerprint(change.new.fingerprint)
    if store is not None and profile.name in store.load():
        store.save(updated)
    record(
        journal,
        "rotation.tls-pinned",
        Outcome.OK,
        actor=actor,
        device_id=profile.name[:64],
        detail=f"pinned new SHA-256 {change.new.fingerprint}; replaced {change.old_fingerprint}"[:300],
    )
    return updated


__all__ = ["TlsChange", "generate_key", "make_csr", "pin", "upload_certificate"]
