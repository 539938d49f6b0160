"""DeviceClient.status as the device sees it: which requests reach the emulator, and what they say."""

from __future__ import annotations

import ssl

import pytest

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import CertificateMismatch, pinned_tls_context
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.models import DeviceState
from hsmconsole.secrets import Secret
from tests.integration.conftest import ADMIN_PASSPHRASE, ADMIN_USER


def test_the_emulator_counts_the_requests_it_receives(emulator: EmbeddedEmulator) -> None:
    client = DeviceClient(Profile("emu", emulator.host_port, fingerprint=emulator.fingerprint))
    assert emulator.requests("GET", "/health/state") == 0
    client.state()
    client.state()
    assert emulator.requests("GET", "/health/state") == 2
    assert emulator.requests("POST", "/health/state") == 0
    assert emulator.requests("POST", "/unlock") == 0


def test_status_reads_system_info_once_with_the_device_id(provisioned: EmbeddedEmulator) -> None:
    client = DeviceClient(Profile("emu", provisioned.host_port, fingerprint=provisioned.fingerprint))
    status = client.status(Credentials(ADMIN_USER, Secret(ADMIN_PASSPHRASE)))
    assert status.state is DeviceState.OPERATIONAL and status.system is not None
    assert status.system.device_id == provisioned.hsm.device_id != ""
    assert status.system.software_version and status.system.build_tag
    # One GET /system/info answers both the versions and the device id.
    assert provisioned.requests("GET", "/system/info") == 1


def test_a_wrong_pin_is_refused_before_any_request_and_pinning_loads_no_ca_store(
    provisioned: EmbeddedEmulator,
) -> None:
    """Pinned pools share one TLS context without the system CA store (urllib3 would otherwise
    load it for every new connection): the fingerprint must still be compared on each connection,
    and a mismatch must stop the unlock before its body (the passphrase) is sent."""
    other = ":".join(["AB"] * 32)
    client = DeviceClient(Profile("emu", provisioned.host_port, fingerprint=other))
    with pytest.raises(CertificateMismatch):
        client.unlock(Secret("unlockunlock"))
    assert provisioned.requests("POST", "/unlock") == 0
    good = DeviceClient(Profile("emu", provisioned.host_port, fingerprint=provisioned.fingerprint))
    assert good.state() is DeviceState.OPERATIONAL
    context = pinned_tls_context()
    assert context.cert_store_stats()["x509_ca"] == 0 and context.verify_mode is ssl.CERT_NONE
