"""`python -m hsmconsole emulator` as a person runs it: a real process, real signals, real ports."""

from __future__ import annotations

import re
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

import nethsm
import pytest
import urllib3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.device.tls import fetch_certificate, fingerprint_of
from hsmconsole.emulator.sysupdate import build_update
from tests.integration.process import free_port, refused, running


@pytest.mark.slow
def test_prints_url_and_fingerprint_stops_on_sigterm_and_restarts_locked(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    port = free_port()
    with running("--port", str(port), "--state-dir", str(state_dir)) as emu:
        assert emu.url == f"https://127.0.0.1:{port}/api/v1"
        # The printed fingerprint is the one of the certificate actually served.
        assert fingerprint_of(fetch_certificate(emu.host_port)) == emu.fingerprint
        anon = emu.client()
        assert anon.get_state() is nethsm.State.UNPROVISIONED
        anon.provision("unlockunlock", "adminadmin", datetime.now(UTC))
        admin = emu.client("admin", "adminadmin")
        admin.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 128, "k")
        anon.close()
        admin.close()
        code, out, err = emu.stop(signal.SIGTERM)
        assert code == 0, err
        assert "Traceback" not in err + out
        first_fingerprint = emu.fingerprint

    # A restart over the same state directory is a reboot: Locked, same TLS identity, same keys.
    with running("--port", str(port), "--state-dir", str(state_dir)) as emu:
        assert emu.fingerprint == first_fingerprint
        anon = emu.client()
        assert anon.get_state() is nethsm.State.LOCKED
        anon.unlock("unlockunlock")
        admin = emu.client("admin", "adminadmin")
        assert admin.list_keys() == ["k"]
        anon.close()
        admin.close()
        code, out, err = emu.stop(signal.SIGINT)  # Ctrl-C is as clean as SIGTERM
        assert code == 0, err
        assert "Traceback" not in err + out


def test_memory_only_without_state_dir_and_loopback_by_default() -> None:
    with running("--port", str(free_port())) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        assert emu.client().get_state() is nethsm.State.UNPROVISIONED
        code, _out, err = emu.stop()
        assert code == 0
        assert "WARNING" not in err


def test_non_loopback_host_warns_loudly() -> None:
    # Listening on all interfaces; the test itself only ever talks to loopback.
    with running("--host", "0.0.0.0", "--port", str(free_port())) as emu:
        code, _out, err = emu.stop()
    assert code == 0
    assert "WARNING" in err and "0.0.0.0" in err and "loopback" in err
    assert "Traceback" not in err


def test_port_in_use_is_a_clear_error_without_traceback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = refused("--port", str(port))
    assert code != 0
    assert "Traceback" not in out + err
    assert str(port) in err and re.search(r"in use|Cannot listen", err, re.IGNORECASE), err


@pytest.mark.parametrize("bad_port", ["70000", "-1"])
def test_invalid_port_is_a_clear_error(bad_port: str) -> None:
    code, out, err = refused("--port", bad_port)
    assert code != 0
    assert "Traceback" not in out + err
    assert err.strip()


def test_request_bodies_never_reach_stderr() -> None:
    """python-multipart logs parse errors with body bytes; the emulator must keep them off stderr."""
    with running("--port", str(free_port())) as emu:
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_fingerprint=emu.fingerprint, retries=False)
        secret = b"garbage-with-a-passphrase-in-it"
        for body in (secret, b"--xyz\r\n" + secret, b"--xyz\r\nContent-Type: a\r\n\r\n" + secret + b"--xy"):
            reply = pool.request(
                "POST",
                f"https://{emu.host_port}/api/v1/system/restore",
                body=body,
                headers={"Content-Type": "multipart/form-data; boundary=xyz"},
            )
            assert reply.status == 400
        pool.clear()
        code, _out, err = emu.stop()
    assert code == 0
    assert "boundary" not in err.lower() and "passphrase" not in err and "Traceback" not in err, err


def test_a_state_directory_serves_one_emulator_at_a_time(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with running("--port", str(free_port()), "--state-dir", str(state_dir)) as first:
        code, out, err = refused("--port", str(free_port()), "--state-dir", str(state_dir))
        assert code != 0
        assert "Traceback" not in out + err
        assert str(state_dir) in err and "in use" in err, err
        # The first one is untouched and still serves.
        assert first.client().get_state() is nethsm.State.UNPROVISIONED
        assert first.stop()[0] == 0
    # Once it stopped, the directory can be used again.
    with running("--port", str(free_port()), "--state-dir", str(state_dir)) as again:
        assert again.client().get_state() is nethsm.State.UNPROVISIONED
        assert again.stop()[0] == 0


def test_update_key_option_trusts_that_key_only(tmp_path: Path) -> None:
    vendor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "update-key.pem"
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem.write_bytes(vendor.public_key().public_bytes(serialization.Encoding.PEM, spki))
    with running("--port", str(free_port()), "--update-key", str(pem)) as emu:
        emu.client().provision("unlockunlock", "adminadmin", datetime.now(UTC))
        admin = emu.client("admin", "adminadmin")
        assert admin.update(build_update(vendor, "signed notes", "6.0", bytes(512))) == "signed notes"
        admin.close()
        code, out, _ = emu.stop()
        # Read at the end: the line follows the banner, which is all that running() waits for.
        assert code == 0 and f"signed with the key in {pem} are trusted" in out
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    for path in (not_a_key, tmp_path / "missing.pem"):
        code, out, err = refused("--port", str(free_port()), "--update-key", str(path))
        assert code != 0 and "Traceback" not in out + err
        assert "update key" in err and str(path) in err, err


def test_update_key_testing_preset_is_named_in_the_banner() -> None:
    with running("--port", str(free_port()), "--update-key", "testing") as emu:
        code, out, err = emu.stop()
    assert code == 0, err
    assert "Update images signed with Nitrokey's public test update key" in out and "'testing'" in out
