"""TLS trust for NetHSM connections: fetch a certificate, fingerprint it, pin the SDK to it."""

from __future__ import annotations

import hashlib
import socket
import ssl
from typing import TYPE_CHECKING

import urllib3

from hsmconsole.errors import ConnectionFailed, InputError

if TYPE_CHECKING:
    import nethsm


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


def fetch_certificate(host: str, timeout: float = 10.0) -> bytes:
    """The DER certificate the server at 'host[:port]' presents, without trusting it.

    Verification is deliberately off here: this is how a first connection learns the certificate
    that the person then compares out of band before anything is pinned.
    """
    name, port = split_host_port(host)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
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


# Connect quickly, but let scrypt-heavy calls (unlock, restore: about a second) finish.
DEFAULT_TIMEOUT = urllib3.Timeout(connect=10.0, read=120.0)


def pin_sdk(
    client: nethsm.NetHSM,
    fingerprint: str | None,
    timeout: urllib3.Timeout = DEFAULT_TIMEOUT,
) -> None:
    """Make an SDK client accept exactly the certificate with this SHA-256 fingerprint.

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
    rest.pool_manager = urllib3.PoolManager(  # type: ignore[assignment]
        num_pools=2, maxsize=2, cert_reqs=ssl.CERT_NONE, assert_fingerprint=pin, timeout=timeout
    )
