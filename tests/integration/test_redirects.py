"""A pinned connection never follows a redirect: the emulator's certificate answering 307 to plain HTTP."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import nethsm
import pytest

from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import RedirectRefused, pin_sdk
from hsmconsole.emulator import server as emulator_server
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret

UNLOCK = "unlock-passphrase-redirected"
ADMIN = "admin-passphrase-redirected"


class Trap:
    """A plain-HTTP listener that records every byte sent to it (and answers 204 to what it reads)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.received = bytearray()
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    while chunk := conn.recv(65536):
                        self.received += chunk
                        if b"\r\n\r\n" in self.received:
                            conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                            break
                except OSError:
                    pass

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept() on Linux (each teardown then
        # waited the whole join timeout); shutdown() does.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the trap's listener did not stop"


def _redirecting(app: Any, target: str) -> Any:
    """The emulator's app, except that every POST answers 307 to `target` (plain HTTP)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            location = f"{target}{scope['path']}".encode()
            await send({"type": "http.response.start", "status": 307, "headers": [(b"location", location)]})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
def trap() -> Iterator[Trap]:
    t = Trap()
    yield t
    t.close()


@pytest.fixture
def redirecting_emulator(trap: Trap, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedEmulator]:
    real = emulator_server.build_app  # type: ignore[attr-defined]
    target = f"http://127.0.0.1:{trap.port}"
    monkeypatch.setattr(emulator_server, "build_app", lambda *a, **kw: _redirecting(real(*a, **kw), target))
    with EmbeddedEmulator() as emu:
        yield emu


def _client(emu: EmbeddedEmulator) -> DeviceClient:
    return DeviceClient(Profile("redirect", emu.host_port, fingerprint=emu.fingerprint))


def test_provision_redirect_is_refused_and_nothing_reaches_the_target(
    redirecting_emulator: EmbeddedEmulator, trap: Trap
) -> None:
    with pytest.raises(RedirectRefused) as info:
        _client(redirecting_emulator).provision(Secret(UNLOCK), Secret(ADMIN))
    assert "redirect" in info.value.title and "307" in info.value.title
    assert "provision" in info.value.title
    assert trap.connections == 0 and trap.received == b""


def test_unlock_redirect_is_refused_and_nothing_reaches_the_target(
    redirecting_emulator: EmbeddedEmulator, trap: Trap
) -> None:
    with pytest.raises(RedirectRefused):
        _client(redirecting_emulator).unlock(Secret(UNLOCK))
    assert trap.connections == 0 and UNLOCK.encode() not in trap.received


def test_a_pinned_sdk_client_refuses_redirects_too(
    redirecting_emulator: EmbeddedEmulator, trap: Trap
) -> None:
    sdk = nethsm.NetHSM(redirecting_emulator.host_port)
    pin_sdk(sdk, redirecting_emulator.fingerprint)
    try:
        with pytest.raises(Exception) as info:
            sdk.unlock(UNLOCK)
        chain: BaseException | None = info.value
        seen = []
        while chain is not None:
            seen.append(chain)
            chain = chain.__cause__ or chain.__context__
        assert any(isinstance(e, RedirectRefused) for e in seen)
    finally:
        sdk.close()
    assert trap.connections == 0 and trap.received == b""


def test_reads_still_work_through_the_same_wrapper(redirecting_emulator: EmbeddedEmulator) -> None:
    # Only POSTs redirect: a GET through the same pinned pool is answered normally.
    assert _client(redirecting_emulator).state().value == "Unprovisioned"
