"""`python -m hsmconsole emulator` as a person runs it: a real process, real signals, real ports."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nethsm
import pytest

from hsmconsole.tls import fetch_certificate, fingerprint_of, pin_sdk

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulator:
    proc: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    url: str = ""
    fingerprint: str = ""

    @property
    def host_port(self) -> str:
        match = re.match(r"https://([^/]+)/api/v1$", self.url)
        assert match, self.url
        return match.group(1)

    def read_banner(self) -> None:
        """Read stdout until the URL and the fingerprint are printed (or the process dies)."""
        assert self.proc.stdout is not None
        # Raw reads on the descriptor: a buffered readline() could swallow the second line and
        # leave select() waiting forever.
        fd = self.proc.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        text = ""
        while not (self.url and self.fingerprint):
            if time.monotonic() > deadline:
                raise AssertionError(f"no banner within {STARTUP_TIMEOUT}s: {text!r}")
            if not selector.select(timeout=0.5):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"emulator exited early: {text!r}")
            text += chunk.decode()
            if url := re.search(r"(https://\S+/api/v1)", text):
                self.url = url.group(1)
            if fp := re.search(r"((?:[0-9A-F]{2}:){31}[0-9A-F]{2})", text):
                self.fingerprint = fp.group(1)
        self.stdout.append(text)
        selector.close()

    def client(self, user: str | None = None, passphrase: str = "") -> nethsm.NetHSM:
        auth = nethsm.Authentication(user, passphrase) if user else None
        client = nethsm.NetHSM(self.host_port, auth)
        pin_sdk(client, self.fingerprint)
        return client

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, "".join(self.stdout) + out, err


def launch(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "hsmconsole", "emulator", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def running(*args: str) -> Iterator[Emulator]:
    emulator = Emulator(launch(*args))
    try:
        emulator.read_banner()
        yield emulator
    finally:
        if emulator.proc.poll() is None:
            emulator.proc.kill()
            emulator.proc.communicate(timeout=10)


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


def refused(*args: str) -> tuple[int, str, str]:
    """Run the emulator with arguments it must refuse; fail (not hang) if it starts anyway."""
    proc = launch(*args)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"emulator {' '.join(args)} started instead of refusing: {out!r}")
    return proc.returncode, out, err


@pytest.mark.parametrize("bad_port", ["70000", "-1"])
def test_invalid_port_is_a_clear_error(bad_port: str) -> None:
    code, out, err = refused("--port", bad_port)
    assert code != 0
    assert "Traceback" not in out + err
    assert err.strip()
