"""The emulator server: TLS from the device (reloaded on change), power-off, and the CLI's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from hsmconsole.device.tls import fetch_certificate, fingerprint_of
from hsmconsole.emulator.server import EmbeddedEmulator, EmulatorStartError
from tests.integration.conftest import ADMIN, RawClient, SdkFactory


def test_serves_the_devices_certificate_and_pins(emulator: EmbeddedEmulator, sdk_factory: SdkFactory) -> None:
    assert fingerprint_of(fetch_certificate(emulator.host_port)) == emulator.fingerprint
    assert emulator.url == f"https://{emulator.host_port}/api/v1"
    assert sdk_factory().get_state().value == "Unprovisioned"
    wrong = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_fingerprint="00" * 32, retries=False)
    with pytest.raises(urllib3.exceptions.SSLError):
        wrong.request("GET", f"{emulator.url}/info")


def test_tls_generate_takes_effect_for_new_connections(provisioned: EmbeddedEmulator, raw: RawClient) -> None:
    before = provisioned.fingerprint
    r = raw.request("POST", "/config/tls/generate", auth=ADMIN, json_body={"type": "EC_P384"})
    assert (r.status, r.body) == (204, b"")
    after = provisioned.fingerprint
    assert after != before
    assert fingerprint_of(fetch_certificate(provisioned.host_port)) == after
    raw.repin()
    assert raw.request("GET", "/info").status == 200


def test_shutdown_powers_the_emulator_off(provisioned: EmbeddedEmulator, raw: RawClient) -> None:
    r = raw.request("POST", "/system/shutdown", auth=ADMIN)
    assert (r.status, r.body) == (204, b"")
    assert provisioned.wait(timeout=10)
    assert provisioned.powered_off
    host, port = provisioned.host_port.rsplit(":", 1)
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_port_in_use_is_a_clear_error() -> None:
    with EmbeddedEmulator() as first:
        port = int(first.host_port.rsplit(":", 1)[1])
        with pytest.raises(EmulatorStartError, match="Cannot listen"):
            EmbeddedEmulator(port=port).start()


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "hsmconsole", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_banner(proc: subprocess.Popen[str]) -> tuple[str, str]:
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    fingerprint = proc.stdout.readline().strip()
    return url, fingerprint


def test_cli_serves_until_sigterm_and_keeps_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = _cli("--port", "0", "--state-dir", str(state))
    try:
        url, fp_line = _read_banner(proc)
        assert url.startswith("NetHSM emulator: https://127.0.0.1:") and url.endswith("/api/v1")
        fingerprint = fp_line.rsplit(" ", 1)[1]
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        assert fingerprint_of(fetch_certificate(host_port)) == fingerprint
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_fingerprint=fingerprint, retries=False)
        body = json.dumps(
            {"unlockPassphrase": "unlockunlock", "adminPassphrase": "adminadmin",
             "systemTime": "2025-01-01T00:00:00Z"}
        ).encode()  # fmt: skip
        r = pool.request("POST", f"https://{host_port}/api/v1/provision", body=body)
        assert r.status == 204
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # A restart is a reboot: provisioned, Locked (unattended boot is off), same certificate.
    proc = _cli("--port", "0", "--state-dir", str(state))
    try:
        url, fp_line = _read_banner(proc)
        assert fp_line.endswith(fingerprint)
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_fingerprint=fingerprint, retries=False)
        assert pool.request("GET", f"https://{host_port}/api/v1/health/state").json() == {"state": "Locked"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_cli_port_in_use_and_bad_host_exit_1_without_traceback() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = _cli("--port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    proc = _cli("--host", "no-such-host.invalid", "--port", "0")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "Traceback" not in err and "no-such-host.invalid" in err


def test_cli_warns_loudly_off_loopback() -> None:
    proc = _cli("--host", "0.0.0.0", "--port", "0")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "WARNING" in err and "0.0.0.0" in err
    assert proc.returncode == 0


def test_a_failed_start_never_serves_the_state_directory_unlocked(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EmbeddedEmulator() as squatter:
        port = int(squatter.host_port.rsplit(":", 1)[1])
        emu = EmbeddedEmulator(state, port=port)
        with pytest.raises(EmulatorStartError, match="Cannot listen"):
            emu.start()
    # The failed start let the directory go: another emulator may take it now...
    other = EmbeddedEmulator(state)
    try:
        # ...so a retry (the port is free again) must refuse rather than serve it beside `other`.
        with pytest.raises(EmulatorStartError, match="released its state directory"):
            emu.start()
        assert not emu.running
    finally:
        other.stop()


def test_a_stopped_emulator_does_not_start_again_over_its_directory(tmp_path: Path) -> None:
    emu = EmbeddedEmulator(tmp_path / "state")
    emu.start()
    emu.stop()
    with pytest.raises(EmulatorStartError, match="released its state directory"):
        emu.start()
    with EmbeddedEmulator(tmp_path / "state") as again:  # a boot is a new emulator, and it is free
        assert again.running
