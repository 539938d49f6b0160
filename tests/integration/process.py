"""The emulator as a separate process (`python -m hsmconsole emulator`): launch, banner, SDK clients, stop."""

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
from pathlib import Path

import nethsm
import pytest

from hsmconsole.device.tls import fetch_certificate, fingerprint_of, pin_sdk

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


class ProcessDevice:
    """A `python -m hsmconsole emulator --state-dir D` process seen as one device across restarts:
    the first start takes --port 0 and reads the port and fingerprint from the banner; a restart is
    SIGTERM (exit 0) and a new process on the same port and state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._emulator = self._launch("0")
        self.fingerprint = self._emulator.fingerprint

    def _launch(self, port: str) -> Emulator:
        emulator = Emulator(launch("--port", port, "--state-dir", str(self.state_dir)))
        try:
            emulator.read_banner()
        except BaseException:
            emulator.proc.kill()
            emulator.proc.communicate(timeout=10)
            raise
        return emulator

    @property
    def host_port(self) -> str:
        return self._emulator.host_port

    def trust_served_certificate(self) -> None:
        """After a TLS change through the API (factory reset, restore): pin what is served now."""
        self.fingerprint = fingerprint_of(fetch_certificate(self.host_port))

    def restart(self) -> None:
        code, out, err = self._emulator.stop(signal.SIGTERM)
        assert code == 0 and "Traceback" not in out + err, err
        port = self.host_port.rsplit(":", 1)[1]
        self._emulator = self._launch(port)
        # The banner of the new process names the same certificate: the TLS key lives in the state.
        assert self._emulator.fingerprint == self.fingerprint
        assert self.host_port.endswith(f":{port}")

    def close(self) -> None:
        if self._emulator.proc.poll() is None:
            code, out, err = self._emulator.stop(signal.SIGTERM)
            assert code == 0 and "Traceback" not in out + err, err
