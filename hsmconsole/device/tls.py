"""TLS trust for NetHSM connections: fetch a certificate, fingerprint it, pin the SDK to it."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from urllib3.util import create_urllib3_context

from hsmconsole.errors import ConnectionFailed, InputError

if TYPE_CHECKING:
    import nethsm


class CertificateMismatch(ConnectionFailed):
    """The device presented a certificate other than the pinned one; nothing was sent to it.

    Carries both fingerprints (canonical colon form) so that they can be read out and compared
    with the device's own console. `presented` is None when it could not be learnt.
    """

    def __init__(self, title: str, hint: str, *, pinned: str, presented: str | None) -> None:
        super().__init__(title, hint)
        self.pinned = pinned
        self.presented = presented


MISMATCH_HINT = (
    "This may be a different device or an interception. Read the presented fingerprint against "
    "the one on the device's own console; only if they match there, delete the profile and add "
    "it again."
)


def presented_in(message: str) -> str | None:
    """The presented fingerprint from urllib3's 'Fingerprints did not match ... got "<hex>"'."""
    found = re.search(r'got "([0-9a-fA-F]{64})"', message)
    return normalize_fingerprint(found.group(1)) if found else None


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex (how people compare them)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalize_fingerprint(text: str) -> str:
    """Accept hex with or without colons/spaces, any case; return the canonical colon form."""
    hexdigits = "".join(ch for ch in text if ch not in ": \t").lower()
    if len(hexdigits) != 64 or any(ch not in "0123456789abcdef" for ch in hexdigits):
        raise InputError(
            "That is not a SHA-256 fingerprint.",
            "Expected 64 hexadecimal digits, optionally separated by colons.",
        )
    return ":".join(hexdigits[i : i + 2] for i in range(0, 64, 2)).upper()


def split_host_port(host: str, default_port: int = 443) -> tuple[str, int]:
    """'host[:port]' (as the SDK's `host` takes it) → (host, port). IPv6 literals in brackets."""
    if host.startswith("["):
        end = host.index("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") else default_port
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, int(port)
    return host, default_port


def pinned_tls_context() -> ssl.SSLContext:
    """A client TLS context for a pinned connection: no CA or hostname check (the exact
    certificate is compared after the handshake) and so no system CA store loaded.

    Without a context of its own, urllib3 builds one per new connection and loads the system CA
    store into it, about 20 ms each time, for certificates that pinning never consults.
    """
    # urllib3's own defaults (TLS 1.2 or later, no compression), minus the CA store.
    ctx = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    ctx.check_hostname = False
    return ctx


def fetch_certificate(host: str, timeout: float = 10.0) -> bytes:
    """The DER certificate the server at 'host[:port]' presents, without trusting it.

    Verification is deliberately off here: this is how a first connection learns the certificate
    that the person then compares out of band before anything is pinned.
    """
    name, port = split_host_port(host)
    ctx = pinned_tls_context()  # nothing trusted yet: the person compares what comes back
    try:
        with (
            socket.create_connection((name, port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectionFailed(
            f"Could not reach {host} over TLS ({exc.__class__.__name__}).",
            "Check the address and port, the network cable or the emulator, then try again.",
        ) from exc
    if not der:
        raise ConnectionFailed(f"{host} presented no certificate.", "Is this a NetHSM?")
    return der


@dataclass(frozen=True)
class Timeouts:
    """How long to wait for a device, in seconds. A NetHSM answers ordinary calls in milliseconds,
    so `read` only has to outlast a busy device; `slow_read` is for the calls known to take long
    (scrypt on unlock, provision and passphrase changes, RSA-4096 generation, backup, restore,
    update). Without any limit a device that stops answering would hang the console for ever.
    """

    connect: float = 10.0  # TCP connect and the TLS handshake
    read: float = 30.0
    slow_read: float = 300.0

    def for_request(self, method: str, url: str) -> urllib3.Timeout:
        read = self.slow_read if is_slow_call(method, url) else self.read
        return urllib3.Timeout(connect=self.connect, read=read)


DEFAULT_TIMEOUTS = Timeouts()

# (method, path below /api/v1/) of the calls a real device may spend minutes on.
SLOW_CALLS = frozenset({
    ("POST", "provision"),
    ("POST", "unlock"),
    ("POST", "keys/generate"),
    ("POST", "system/backup"),
    ("POST", "system/restore"),
    ("POST", "system/update"),
    ("POST", "system/commit-update"),
    ("POST", "system/factory-reset"),
    ("PUT", "config/unlock-passphrase"),
    ("PUT", "config/backup-passphrase"),
    ("POST", "config/tls/generate"),
})


def api_path(url: str) -> str:
    """'https://h:1/api/v1/keys/generate?x=1' -> 'keys/generate' (the part after the version)."""
    path = urlsplit(url).path
    if "/api/" in path:
        path = path.split("/api/", 1)[1]
        path = path.split("/", 1)[1] if "/" in path else ""
    return path.strip("/")


def is_slow_call(method: str, url: str) -> bool:
    return (method.upper(), api_path(url)) in SLOW_CALLS


class RedirectRefused(ConnectionFailed):
    """The pinned server answered with a redirect; it was not followed (a NetHSM never sends one)."""


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class _NoRetryOnTimeout(urllib3.Retry):
    """urllib3's retries, except after a timeout: a device that did not answer in time will not
    answer sooner when asked again, and a repeated GET would multiply the wait. A timed-out call
    always ends as MaxRetryError, so the SDK turns it into a NetHSMRequestError like other
    transport failures (a POST would otherwise escape as a bare ReadTimeoutError)."""

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> urllib3.Retry:
        if isinstance(error, urllib3.exceptions.TimeoutError):
            raise urllib3.exceptions.MaxRetryError(_pool, url or "", error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _TimedPoolManager(urllib3.PoolManager):
    """A PoolManager that applies our timeouts when the caller passes none.

    The SDK's REST client passes `timeout=None` explicitly on every request, which urllib3 reads
    as "wait for ever" and which overrides the pool's own default; so the default goes in here.
    """

    def __init__(self, timeouts: Timeouts, **kw: Any) -> None:
        super().__init__(**kw)
        self.timeouts = timeouts

    def urlopen(  # type: ignore[override]
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        if kw.get("timeout") is None:
            kw["timeout"] = self.timeouts.for_request(method, url)
        # Never follow a redirect: urllib3 would re-send the body (passphrases in unlock and
        # provision) to wherever the Location points, plain HTTP included, outside the pin.
        response = super().urlopen(method, url, False, **kw)
        if response.status in REDIRECT_STATUSES:
            response.drain_conn()
            response.release_conn()
            raise RedirectRefused(
                f"The device answered {method.upper()} /{api_path(url)} with a redirect "
                f"(HTTP {response.status}); it was not followed and nothing was sent elsewhere.",
                "A NetHSM never redirects: check that the profile's address is the device itself "
                "and not a proxy or another server.",
            )
        return response


def pin_sdk(
    client: nethsm.NetHSM,
    fingerprint: str | None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> None:
    """Make an SDK client accept exactly the certificate with this SHA-256 fingerprint, and give
    every request a time limit (see `Timeouts`).

    A NetHSM's certificate is self-signed (CN=keyfender, no SAN), so CA and hostname checks cannot
    apply; pinning the exact certificate is stronger than both. urllib3 checks the fingerprint on
    every new connection and refuses a mismatch before any request (credentials included) is sent.
    `fingerprint=None` is only for profiles the person explicitly marked insecure.
    """
    pin = None
    if fingerprint is not None:
        pin = normalize_fingerprint(fingerprint).replace(":", "").lower()
    # The SDK exposes no pinning option; its REST client keeps a urllib3 PoolManager we replace.
    rest = client.client.rest_client
    rest.pool_manager = _TimedPoolManager(  # type: ignore[assignment]
        timeouts,
        num_pools=2,
        maxsize=2,
        cert_reqs=ssl.CERT_NONE,
        ssl_context=pinned_tls_context(),
        assert_fingerprint=pin,
        timeout=timeouts.for_request("GET", ""),
        retries=_NoRetryOnTimeout(3, redirect=0, raise_on_redirect=False),  # no redirect followed
    )
