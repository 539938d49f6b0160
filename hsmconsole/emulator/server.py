"""Serve an emulated NetHSM over HTTPS with uvicorn in a background thread, with the device's own TLS key."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.emulator.app import build_app
from hsmconsole.emulator.handlers_common import AppState
from hsmconsole.emulator.hsm import Hsm
from hsmconsole.emulator.statelock import StateDirLock
from hsmconsole.errors import ConnectionFailed
from hsmconsole.fileio import write_private

START_TIMEOUT = 15.0


class EmulatorStartError(ConnectionFailed):
    """The emulator could not listen (address in use, unknown host, TLS material unusable)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class EmbeddedEmulator:
    """One emulated NetHSM listening on host:port (port 0 picks a free one) until stop().

    TLS uses the device's own key and certificate; when the API changes them (PUT
    /config/tls/cert.pem, POST /config/tls/generate, factory reset, restore) the live SSLContext
    reloads its chain, so new connections see the new certificate. POST /system/shutdown makes
    the emulator behave as powered off: it stops listening (connections are refused) until a new
    EmbeddedEmulator is started over the same state directory (a boot). A state directory serves one
    emulator at a time (an flock on its emulator.lock, held from construction until stop()).
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        update_key: rsa.RSAPublicKey | None = None,
    ) -> None:
        """`state_dir` is locked (StateDirInUse if another emulator holds it) until stop().
        `update_key`: the RSA public key whose signatures on update images are trusted."""
        self._host = host
        self._port = port
        self._dir_lock = StateDirLock(state_dir) if state_dir is not None else None
        try:
            self._hsm = Hsm(state_dir, update_key=update_key)
        except BaseException:
            self._release_dir()
            raise
        self._state = AppState(tls_changed=self._reload_tls, powered_off=self._power_off)
        self._server: uvicorn.Server | None = None
        self._config: uvicorn.Config | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: Path | None = None
        self._bound: tuple[str, int] | None = None
        self._failure: BaseException | None = None
        self._powered_off = threading.Event()

    # --- properties ------------------------------------------------------------------------
    @property
    def hsm(self) -> Hsm:
        return self._hsm

    @property
    def host_port(self) -> str:
        """'host:port' as the SDK's NetHSM(host=...) wants it (IPv6 literals in brackets)."""
        if self._bound is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._bound
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"https://{self.host_port}/api/v1"

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate currently served (colon hex)."""
        # The console's own notation (device/tls.fingerprint_of), written out here: the emulator
        # stands in for a device and imports nothing of the console (tests/unit/test_layering.py).
        digest = hashlib.sha256(self._hsm.tls_certificate_chain_der()[0]).hexdigest().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def powered_off(self) -> bool:
        """True once POST /system/shutdown was answered."""
        return self._powered_off.is_set()

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Listen, then return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        try:
            sock = self._bind()
        except BaseException:
            self._release_dir()
            raise
        try:
            certfile, keyfile = self._write_tls()
            config = uvicorn.Config(
                build_app(self._hsm, self._state),
                ssl_certfile=str(certfile),
                ssl_keyfile=str(keyfile),
                # Paths only would be logged, but the device logs nothing per request by default
                # either; and never let X-Forwarded-For choose the rate-limited client address.
                access_log=False,
                log_config=None,
                proxy_headers=False,
                server_header=False,
                date_header=False,
                lifespan="off",
                timeout_graceful_shutdown=3,
            )
            config.load()  # the TLS context now holds the key: its file goes at once (below)
        except Exception as exc:
            sock.close()
            self._cleanup()
            self._release_dir()
            raise EmulatorStartError(f"Could not set up the emulator's TLS: {type(exc).__name__}.") from exc
        self._cleanup()  # a kill from here on leaves no copy of the TLS private key in $TMPDIR
        self._config = config
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="nethsm-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise EmulatorStartError("The emulator did not start.") from self._failure
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and remove the private copy of the TLS key."""
        if self._server is not None:
            # Power off: idle keep-alive TLS connections must not hold the shutdown up.
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None
        self._cleanup()
        self._release_dir()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops by itself (shutdown through the API); True if it did."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def __enter__(self) -> EmbeddedEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- internals -------------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise EmulatorStartError(f"Unknown host {self._host!r}: cannot listen there.") from exc
        if not 0 <= self._port <= 65535:
            # getaddrinfo would silently wrap it (70000 → 4464).
            raise EmulatorStartError(f"Port {self._port} is not a valid port number (0-65535).")
        family, _, proto, _, address = infos[0]
        # With proto 0 asyncio does not set TCP_NODELAY on accepted sockets, and Nagle plus delayed
        # ACKs then cost about 40 ms per response.
        sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OverflowError as exc:
            sock.close()
            raise EmulatorStartError(f"Port {self._port} is not a valid port number.") from exc
        except OSError as exc:
            sock.close()
            reason = exc.strerror or type(exc).__name__
            raise EmulatorStartError(
                f"Cannot listen on {self._host} port {self._port}: {reason}."
            ) from exc
        bound = sock.getsockname()
        self._bound = (str(bound[0]), int(bound[1]))
        return sock

    def _write_tls(self) -> tuple[Path, Path]:
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="hsmconsole-emulator-"))  # 0700
        key_pem = self._hsm.tls_private_key_pem()
        chain = self._hsm.tls_certificate_chain_der()
        pems = b"".join(
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM) for der in chain
        )
        certfile = write_private(self._tmpdir / "cert.pem", pems, overwrite=True)
        keyfile = write_private(self._tmpdir / "key.pem", key_pem, overwrite=True)
        return certfile, keyfile

    def _reload_tls(self) -> None:
        config = self._config
        if config is None or config.ssl is None:
            return
        try:
            certfile, keyfile = self._write_tls()
            fresh = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            fresh.load_cert_chain(str(certfile), str(keyfile))
        finally:
            self._cleanup()  # loaded: the key file is not needed any more
        # Loading a chain into the live SSLContext would only *add* a certificate when the key type
        # changes (OpenSSL keeps one per type and keeps preferring the old ECDSA one), so build a
        # fresh context and hand it to each new handshake; established connections keep theirs.

        def use_current(sslobj: ssl.SSLObject, _name: str | None, _ctx: ssl.SSLContext) -> None:
            sslobj.context = fresh

        config.ssl.sni_callback = use_current

    def _power_off(self) -> None:
        self._powered_off.set()
        if self._server is not None:
            self._server.should_exit = True

    def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            asyncio.run(self._server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by start(); a thread cannot raise to its starter
            self._failure = exc
        finally:
            sock.close()

    def _release_dir(self) -> None:
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None

    def _cleanup(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
