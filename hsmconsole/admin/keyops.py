"""Key changes as an administrator makes them: checked first, journaled (ids only), files written 0600."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from hsmconsole.admin.actor import Actor
from hsmconsole.admin.people import journaled, journaled_tags
from hsmconsole.device import keys as dev_keys
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.keyfiles import LoadedKey
from hsmconsole.errors import InputError
from hsmconsole.fileio import write_private
from hsmconsole.inventory import CsrSubject, KeyMechanism, KeyType
from hsmconsole.journal.chain import Journal


def generate(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    key_type: KeyType,
    mechanisms: tuple[KeyMechanism, ...],
    length: int | None,
    key_id: str = "",
    tags: tuple[str, ...] = (),
) -> str:
    return journaled(
        client,
        actor,
        journal,
        "admin.key.generate",
        f"{key_id or '(device id)'} {key_type.value}",
        lambda: dev_keys.generate_key(
            client, actor.credentials(), key_type, mechanisms, length, key_id=key_id, tags=tags
        ),
    )


def import_private(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    loaded: LoadedKey,
    mechanisms: tuple[KeyMechanism, ...],
    key_id: str = "",
    tags: tuple[str, ...] = (),
) -> str:
    """Import, then wipe our copy of the private key whatever happened."""
    try:
        return journaled(
            client,
            actor,
            journal,
            "admin.key.import",
            f"{key_id or '(device id)'} {loaded.type.value}",
            lambda: dev_keys.import_key(
                client, actor.credentials(), loaded, mechanisms, key_id=key_id, tags=tags
            ),
        )
    finally:
        loaded.material.wipe()


def delete(client: DeviceClient, actor: Actor, journal: Journal | None, key_id: str) -> None:
    journaled(
        client,
        actor,
        journal,
        "admin.key.delete",
        key_id,
        lambda: dev_keys.delete_key(client, actor.credentials(), key_id),
    )


def move(client: DeviceClient, actor: Actor, journal: Journal | None, key_id: str, new_id: str) -> None:
    journaled(
        client,
        actor,
        journal,
        "admin.key.move",
        f"{key_id} -> {new_id}",
        lambda: dev_keys.move_key(client, actor.credentials(), key_id, new_id),
    )


def change_tags(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    key_id: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
) -> None:
    """Key tags by difference: only what changes is sent."""
    creds = actor.credentials()
    send = (
        partial(dev_keys.add_tag, client, creds, key_id),
        partial(dev_keys.remove_tag, client, creds, key_id),
    )
    journaled_tags(client, actor, journal, "key", key_id, (add, remove), send)


def export_public(client: DeviceClient, actor: Actor, key_id: str, path: Path) -> Path:
    """The public key (PEM) to a new file; public, but written like every file of ours."""
    if path.exists():
        raise InputError(f"{path} already exists.", "Name a new file; nothing was overwritten.")
    pem = dev_keys.public_key_pem(client, actor.credentials(), key_id)
    return write_private(path, pem.encode())


def write_csr(
    client: DeviceClient, actor: Actor, journal: Journal | None, key_id: str, subject: CsrSubject, path: Path
) -> Path:
    if path.exists():
        raise InputError(f"{path} already exists.", "Name a new file; nothing was overwritten.")
    pem = journaled(
        client,
        actor,
        journal,
        "admin.key.csr",
        f"{key_id} CN={subject.common_name}",
        lambda: dev_keys.csr(client, actor.credentials(), key_id, subject),
    )
    return write_private(path, pem.encode())


def upload_certificate(
    client: DeviceClient, actor: Actor, journal: Journal | None, key_id: str, path: Path
) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path} ({exc.strerror or exc.__class__.__name__}).", "") from None
    journaled(
        client,
        actor,
        journal,
        "admin.key.cert.set",
        key_id,
        lambda: dev_keys.set_certificate(client, actor.credentials(), key_id, data),
    )


def delete_certificate(client: DeviceClient, actor: Actor, journal: Journal | None, key_id: str) -> None:
    journaled(
        client,
        actor,
        journal,
        "admin.key.cert.delete",
        key_id,
        lambda: dev_keys.delete_certificate(client, actor.credentials(), key_id),
    )


def describe_certificate(data: bytes) -> str:
    """A few lines about a stored certificate (subject, issuer, validity), or why it cannot be read."""
    from cryptography import x509

    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        return (
            f"{len(data)} bytes stored; not a certificate this console can read (the device keeps any bytes)."
        )
    return (
        f"Subject: {cert.subject.rfc4514_string()}\nIssuer:  {cert.issuer.rfc4514_string()}\n"
        f"Valid:   {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}\n"
        f"Serial:  {cert.serial_number:x}"
    )
