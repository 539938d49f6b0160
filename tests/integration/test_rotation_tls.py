"""TLS rotation on the emulator: new key or CA-signed certificate, read over the old pin, then pinned."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.tls import CertificateMismatch
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import InputError
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState
from hsmconsole.rotation import tls
from hsmconsole.rotation.record import last_changed
from hsmconsole.secrets import Secret

ADMIN = Credentials("admin", Secret("adminadmin"))


def _setup(emulator: EmbeddedEmulator, tmp_path: Path) -> tuple[DeviceClient, ProfileStore, Journal]:
    store = ProfileStore(tmp_path / "config")
    profile = Profile("emu", emulator.host_port, fingerprint=emulator.fingerprint)
    store.save(profile)
    return DeviceClient(profile), store, Journal(tmp_path / "journal.jsonl")


def test_new_tls_key_read_over_the_old_pin_then_pinned(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    client, store, journal = _setup(provisioned, tmp_path)
    old = client.profile.fingerprint
    change = tls.generate_key(client, ADMIN, "EC_P256", journal=journal)
    assert change.old_fingerprint == old and change.new.fingerprint == provisioned.fingerprint != old
    assert "BEGIN CERTIFICATE" in change.new.pem
    # The old pin now refuses the device: nothing is sent until the new one is pinned.
    with pytest.raises(CertificateMismatch):
        client.state()
    with pytest.raises(InputError, match="does not match"):
        tls.pin(change, client.profile, compared="00:11:22:33:44", store=store, journal=journal)
    profile = tls.pin(
        change, client.profile, compared=change.new.fingerprint[-14:], store=store, journal=journal
    )
    assert store.get("emu").fingerprint == change.new.fingerprint == profile.fingerprint
    assert DeviceClient(profile).state() is DeviceState.OPERATIONAL
    text = journal.path.read_text()
    assert old is not None and old in text and change.new.fingerprint in text
    assert "tls" in last_changed(journal.entries(), "emu")


def test_rsa_needs_a_length(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    client, _, _ = _setup(provisioned, tmp_path)
    with pytest.raises(InputError, match="1024 to 8192"):
        tls.generate_key(client, ADMIN, "RSA", None)
    with pytest.raises(InputError, match="not a TLS key type"):
        tls.generate_key(client, ADMIN, "Generic", 128)
    assert client.state() is DeviceState.OPERATIONAL  # nothing was sent


def test_csr_signed_by_a_ca_uploaded_and_pinned(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    client, store, journal = _setup(provisioned, tmp_path)
    csr = x509.load_pem_x509_csr(tls.make_csr(client, ADMIN, "nethsm.example.org").encode())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(csr.subject).issuer_name(name).public_key(csr.public_key())
        .serial_number(2).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = (
        leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    ).decode()
    change = tls.upload_certificate(client, ADMIN, pem, journal=journal)
    assert change.new.fingerprint == provisioned.fingerprint != change.old_fingerprint
    profile = tls.pin(change, client.profile, compared=change.new.fingerprint, store=store, journal=journal)
    assert DeviceClient(profile).state() is DeviceState.OPERATIONAL
    # A certificate for another key is refused by the device; the pin stays.
    with pytest.raises(InputError):
        tls.upload_certificate(
            DeviceClient(profile), ADMIN, ca.public_bytes(serialization.Encoding.PEM).decode()
        )
    assert DeviceClient(profile).state() is DeviceState.OPERATIONAL
