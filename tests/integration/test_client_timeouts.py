"""A device that accepts connections but never answers must not hang the console: every request times out."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import DEFAULT_TIMEOUTS, Timeouts, fingerprint_of, is_slow_call
from hsmconsole.errors import ConnectionFailed
from hsmconsole.secrets import Secret

FAST = Timeouts(connect=1.0, read=1.0, slow_read=1.5)


class SilentServer:
    """Accepts TCP (and, with `tls`, completes the handshake and reads the request), then says nothing."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            if self.tls is not None:
                conn.settimeout(5)
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                    if conn.recv(65536):
                        self.requests += 1
                except (OSError, ssl.SSLError):
                    pass
            self.held.append(conn)  # kept open, never answered

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def _self_signed(tmp: Path) -> tuple[ssl.SSLContext, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyfender")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx, fingerprint_of(cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture(autouse=True, scope="module")
def _sdk_imported() -> None:
    # The SDK imports its API modules on first use (about two seconds): not part of what is timed.
    import nethsm.client.apis.tags.default_api  # noqa: F401


@pytest.fixture
def tls_silent(tmp_path: Path) -> Iterator[tuple[SilentServer, str]]:
    ctx, fp = _self_signed(tmp_path)
    with SilentServer(ctx) as server:
        yield server, fp


def _timed(fn: object) -> float:
    start = time.monotonic()
    with pytest.raises(ConnectionFailed) as info:
        fn()  # type: ignore[operator]
    assert "stopped answering" in info.value.title
    return time.monotonic() - start


def test_state_times_out_when_tcp_is_accepted_but_nothing_answers() -> None:
    with SilentServer() as server:
        profile = Profile("mute", f"127.0.0.1:{server.port}", fingerprint="AB" * 32)
        client = DeviceClient(profile, FAST)
        # Connect+handshake limit once, no retries after a timeout.
        assert _timed(client.state) < 1.0 + 1.5


def test_state_times_out_when_tls_works_but_no_reply_comes(tls_silent: tuple[SilentServer, str]) -> None:
    server, fp = tls_silent
    client = DeviceClient(Profile("mute", f"127.0.0.1:{server.port}", fingerprint=fp), FAST)
    elapsed = _timed(client.state)
    assert server.requests == 1  # the GET was sent once, not retried three more times
    # At least the read limit; the upper bound only shows that it ended (a loaded machine, as with
    # parallel tests, adds seconds): that it ended after one try is the request count above.
    assert 1.0 <= elapsed < 10


def test_slow_calls_get_the_longer_limit_and_still_end(tls_silent: tuple[SilentServer, str]) -> None:
    server, fp = tls_silent
    client = DeviceClient(Profile("mute", f"127.0.0.1:{server.port}", fingerprint=fp), FAST)
    elapsed = _timed(lambda: client.unlock(Secret("unlock-passphrase")))
    assert server.requests == 1  # one unlock sent, not retried after the timeout
    # slow_read (1.5 s), not read (1.0 s): a real unlock spends seconds in scrypt. It ended, and far
    # below the default 300 s (a loaded machine adds seconds to the 1.5 s, so no tighter bound).
    assert 1.5 <= elapsed < 10


def test_status_reports_unreachable_instead_of_hanging() -> None:
    with SilentServer() as server:
        client = DeviceClient(Profile("mute", f"127.0.0.1:{server.port}", fingerprint="AB" * 32), FAST)
        start = time.monotonic()
        status = client.status()
        assert time.monotonic() - start < 2.5
    assert status.state.value == "Unreachable"


def test_which_calls_are_slow() -> None:
    base = "https://192.0.2.1:8443/api/v1/"
    for method, path in [
        ("POST", "unlock"), ("POST", "provision"), ("POST", "keys/generate"), ("POST", "system/backup"),
        ("POST", "system/restore?arguments=x"), ("PUT", "config/unlock-passphrase"),
    ]:
        assert is_slow_call(method, base + path), path
    quick_calls = [("GET", "health/state"), ("GET", "keys"), ("POST", "keys/k1/sign"), ("GET", "unlock")]
    for method, path in quick_calls:
        assert not is_slow_call(method, base + path), path
    slow = DEFAULT_TIMEOUTS.for_request("POST", base + "keys/generate")
    quick = DEFAULT_TIMEOUTS.for_request("GET", base + "health/state")
    assert slow.read_timeout is not None and quick.read_timeout is not None
    assert slow.read_timeout >= 120 > quick.read_timeout
