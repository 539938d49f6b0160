"""System settings and maintenance against the emulator over HTTPS: reads, changes, update, reset, journal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.device import system as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.sysupdate import build_update
from hsmconsole.errors import AuthError, ConnectionFailed, InputError, IntegrityError, StateError
from hsmconsole.journal.chain import Journal, Outcome
from hsmconsole.models import DeviceState, UserRole
from hsmconsole.secrets import Secret
from hsmconsole.system import actions
from hsmconsole.system.validate import logging_settings, network_settings

ADMIN_PASS = "adminadmin"
VENDOR = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def admin() -> Credentials:
    return Credentials("admin", Secret(ADMIN_PASS))


@pytest.fixture
def device() -> Iterator[tuple[EmbeddedEmulator, DeviceClient]]:
    with EmbeddedEmulator(update_key=VENDOR.public_key()) as emu:
        client = DeviceClient(Profile("sys", emu.host_port, fingerprint=emu.fingerprint))
        client.provision(Secret("unlockunlock"), Secret(ADMIN_PASS))
        yield emu, client


def test_overview_reads_every_setting(device: tuple[EmbeddedEmulator, DeviceClient]) -> None:
    emu, client = device
    ov = actions.read_overview(client, admin())
    assert (ov.info.vendor, ov.info.product) == ("Nitrokey GmbH", "NetHSM")
    assert ov.info.device_id == emu.hsm.device_id and ov.info.software_version
    assert ov.state is DeviceState.OPERATIONAL
    assert abs(ov.device_time - ov.local_time) < timedelta(seconds=5)
    assert ov.network == dev.NetworkSettings("192.168.1.1", "255.255.255.0", "0.0.0.0")
    assert ov.logging == dev.LoggingSettings("0.0.0.0", 514, dev.LogLevel.INFO)
    assert ov.unattended_boot is False
    assert ov.tls.fingerprint == client.profile.fingerprint and ov.tls.matches_pin is True
    assert "CN=keyfender" in ov.tls.subject


def test_settings_change_and_are_journaled(
    device: tuple[EmbeddedEmulator, DeviceClient], tmp_path: Path
) -> None:
    _, client = device
    journal = Journal(tmp_path / "journal.jsonl")
    change = actions.change_network(
        client, admin(), network_settings("10.1.2.3", "16", "10.1.0.1", "2001:db8::3/64"), journal
    )
    assert change.before.ip_address == "192.168.1.1" and change.reconnect_to is None
    after = dev.read_network(client, admin())
    assert (after.ip_address, after.netmask, after.gateway) == ("10.1.2.3", "255.255.0.0", "10.1.0.1")
    assert after.ipv6 is not None and after.ipv6.cidr == "2001:db8::3/64"
    actions.change_logging(client, admin(), logging_settings("192.0.2.5", "1514", "warning"), journal)
    assert dev.read_logging(client, admin()) == dev.LoggingSettings("192.0.2.5", 1514, dev.LogLevel.WARNING)
    actions.change_unattended_boot(client, admin(), True, journal)
    assert dev.read_unattended_boot(client, admin()) is True
    actions.change_time(client, admin(), datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC), journal)
    assert dev.read_time(client, admin()) - datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC) < timedelta(seconds=5)
    actions.change_time(client, admin(), None, journal)  # from this computer's clock
    assert abs(dev.read_time(client, admin()) - datetime.now(UTC)) < timedelta(seconds=5)
    entries = [e.event for e in journal.entries()]
    assert [e.action for e in entries] == [
        "system.network", "system.logging", "system.unattended-boot", "system.time", "system.time",
    ]
    assert all(e.outcome is Outcome.OK and e.actor == "admin" and e.device_id == "sys" for e in entries)
    assert "10.1.2.3/16 gateway 10.1.0.1" in entries[0].detail


def test_a_network_change_on_the_connection_address_says_where_to_reconnect(
    device: tuple[EmbeddedEmulator, DeviceClient],
) -> None:
    emu, client = device
    # The emulator listens on 127.0.0.1: make that the device's own address first.
    dev.set_network(client, admin(), dev.NetworkSettings("127.0.0.1", "255.0.0.0"))
    change = actions.change_network(client, admin(), dev.NetworkSettings("127.0.0.2", "255.0.0.0"))
    assert change.reconnect_to == f"127.0.0.2:{emu.host_port.rsplit(':', 1)[1]}"
    moved = actions.moved_profile(client.profile, change.reconnect_to)
    assert moved.host == change.reconnect_to and moved.fingerprint == client.profile.fingerprint


def test_tls_certificate_and_csr(device: tuple[EmbeddedEmulator, DeviceClient], tmp_path: Path) -> None:
    _, client = device
    out = actions.save_csr(
        client, admin(), dev.DistinguishedName("nethsm.example.org", organization="Example"),
        tmp_path / "tls.csr",
    )
    csr = x509.load_pem_x509_csr(out.read_bytes())
    assert "CN=nethsm.example.org" in csr.subject.rfc4514_string()
    assert out.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="already exists"):
        actions.save_csr(client, admin(), dev.DistinguishedName("x"), out)
    wrong = dev.describe_certificate(dev.read_tls_certificate(client, admin()).pem, "00:" * 31 + "00")
    assert wrong.matches_pin is False


def test_update_upload_with_progress_then_commit(
    device: tuple[EmbeddedEmulator, DeviceClient], tmp_path: Path
) -> None:
    _, client = device
    journal = Journal(tmp_path / "journal.jsonl")
    image = build_update(VENDOR, "Release 6.1: faster signing", "6.1", bytes(512 * 300))
    seen: list[tuple[int, int]] = []
    notes = actions.upload_update(client, admin(), image, lambda a, b: seen.append((a, b)), journal)
    assert notes == "Release 6.1: faster signing"
    assert seen[0] == (0, len(image)) and seen[-1] == (len(image), len(image)) and len(seen) > 2
    with pytest.raises(StateError, match="already waiting"):
        actions.upload_update(client, admin(), image, journal=journal)
    actions.commit_update(client, admin(), journal)
    assert client.state() is DeviceState.LOCKED  # rebooted into the new image
    client.unlock(Secret("unlockunlock"))
    assert dev.read_system_info(client, admin()).software_version == "6.1"
    outcomes = [(e.event.action, e.event.outcome) for e in journal.entries()]
    assert outcomes == [
        ("system.update.upload", Outcome.OK),
        ("system.update.upload", Outcome.REFUSED),
        ("system.update.commit", Outcome.OK),
    ]


def test_update_refusals_in_plain_words(device: tuple[EmbeddedEmulator, DeviceClient]) -> None:
    _, client = device
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(IntegrityError, match="signature is not valid"):
        dev.upload_update(client, admin(), build_update(stranger, "evil", "6.0", bytes(512)))
    with pytest.raises(InputError, match="downgrade"):
        dev.upload_update(client, admin(), build_update(VENDOR, "old", "4.9", bytes(512)))
    with pytest.raises(InputError, match="not an update image the device can read"):
        dev.upload_update(client, admin(), b"_NETHSM_UPDATE_\x00" + b"\x00\x00")
    with pytest.raises(StateError, match="No update is waiting"):
        dev.commit_update(client, admin())
    with pytest.raises(StateError, match="No update is waiting"):
        dev.cancel_update(client, admin())
    dev.upload_update(client, admin(), build_update(VENDOR, "n", "6.0", bytes(512)))
    dev.cancel_update(client, admin())
    with pytest.raises(AuthError, match="wrong user name or passphrase"):
        dev.upload_update(client, Credentials("admin", Secret("wrong-passphrase")), bytes(512))


def test_update_file_is_checked_locally(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"hello")
    with pytest.raises(InputError, match="not a NetHSM update image"):
        actions.read_update_file(bad)
    with pytest.raises(InputError, match="Cannot read"):
        actions.read_update_file(tmp_path / "missing.img")


def test_metrics_for_a_metrics_user_only(device: tuple[EmbeddedEmulator, DeviceClient]) -> None:
    _, client = device
    client.add_user(admin(), "metrics1", "Metrics", UserRole.METRICS, Secret("metricsmetrics"))
    metrics = dev.read_metrics(client, Credentials("metrics1", Secret("metricsmetrics")))
    assert "uptime" in {m.name for m in metrics}
    with pytest.raises(AuthError, match="Metrics role"):
        dev.read_metrics(client, admin())


def test_reboot_locks_and_shutdown_powers_off(device: tuple[EmbeddedEmulator, DeviceClient]) -> None:
    emu, client = device
    actions.reboot(client, admin())
    assert client.state() is DeviceState.LOCKED
    client.unlock(Secret("unlockunlock"))
    actions.shutdown(client, admin())
    assert emu.wait(10)
    assert emu.powered_off


def test_factory_reset_needs_the_full_device_id(
    device: tuple[EmbeddedEmulator, DeviceClient], tmp_path: Path
) -> None:
    emu, client = device
    journal = Journal(tmp_path / "journal.jsonl")
    writes = emu.hsm.kv_writes
    with pytest.raises(InputError, match="not this device's id"):
        actions.factory_reset(client, admin(), emu.hsm.device_id[:-1], journal)
    assert client.state() is DeviceState.OPERATIONAL and emu.hsm.kv_writes == writes
    actions.factory_reset(client, admin(), emu.hsm.device_id, journal)
    # A new TLS certificate: the pinned client refuses it; a fresh look shows Unprovisioned.
    fresh = DeviceClient(Profile("after", emu.host_port, fingerprint=emu.fingerprint))
    assert fresh.state() is DeviceState.UNPROVISIONED
    assert [(e.event.action, e.event.outcome) for e in journal.entries()] == [
        ("system.factory-reset", Outcome.REFUSED), ("system.factory-reset", Outcome.OK),
    ]


def test_a_connection_lost_while_moving_says_where_the_device_would_be(
    device: tuple[EmbeddedEmulator, DeviceClient],
) -> None:
    emu, client = device
    dev.set_network(client, admin(), dev.NetworkSettings("127.0.0.1", "255.0.0.0"))

    class DroppingClient(DeviceClient):
        """The emulator cannot drop a connection mid-request; this client does, for the change only."""

        def call(self, action: str, creds: Any, fn: Any, meaning: Any = None) -> Any:
            if action == "Change network settings":
                raise ConnectionFailed(f"{action}: the device did not answer.", "")
            return super().call(action, creds, fn, meaning)

    dropping = DroppingClient(client.profile)
    with pytest.raises(ConnectionFailed, match="did not answer") as caught:
        actions.change_network(dropping, admin(), dev.NetworkSettings("127.0.0.9", "255.0.0.0"))
    assert f"127.0.0.9:{emu.host_port.rsplit(':', 1)[1]}" in caught.value.hint
