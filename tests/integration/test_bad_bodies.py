"""Bodies an attacker may send: over-long multipart boundaries (400, never 500), huge restore bodies."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest
import urllib3

from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.conftest import ADMIN, RawClient

LONG = "b" * 300  # python-multipart refuses boundaries over 256 characters


def _multipart(boundary: str) -> bytes:
    return (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"arguments\"\r\n\r\n{{}}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"backup_file\"\r\n\r\nxyz\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_a_long_boundary_on_restore_is_a_400(raw: RawClient) -> None:
    reply = raw.request(
        "POST", "/system/restore", body=_multipart(LONG),
        headers={"Content-Type": f"multipart/form-data; boundary={LONG}"},
    )  # fmt: skip
    assert reply.status == 400, reply.body
    assert reply.json() == {"message": "Body cannot be empty."}


@pytest.mark.parametrize(("method", "path"), [("POST", "/keys"), ("PUT", "/keys/k1")])
def test_a_long_boundary_on_key_import_is_a_400(
    provisioned: EmbeddedEmulator, raw: RawClient, method: str, path: str
) -> None:
    reply = raw.request(
        method, path, auth=ADMIN, body=_multipart(LONG),
        headers={"Content-Type": f"multipart/form-data; boundary={LONG}"},
    )  # fmt: skip
    assert reply.status == 400, reply.body


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


@pytest.mark.slow
def test_a_huge_restore_body_is_streamed_in_bounded_memory(emulator: EmbeddedEmulator) -> None:
    boundary = "xyzzy"
    mib = 1024 * 1024
    total = 256  # MiB of backup part, sent unauthenticated to an Unprovisioned device
    chunk = b"\x00" * mib

    def body() -> Iterator[bytes]:
        yield (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"arguments\"\r\n\r\n{{}}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"backup_file\"\r\n\r\n"
        ).encode()
        for _ in range(total):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    before = _max_rss_mb()
    pool = urllib3.PoolManager(
        cert_reqs="CERT_NONE", assert_fingerprint=emulator.fingerprint, retries=False,
        timeout=urllib3.Timeout(connect=5.0, read=120.0),
    )  # fmt: skip
    try:
        reply = pool.request(
            "POST", f"{emulator.url}/system/restore", body=body(), chunked=True,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
    finally:
        pool.clear()
    assert reply.status == 400
    assert b"Not a NetHSM backup file" in reply.data
    # The whole body held in memory (once, or twice while joined) would add 256 to 512 MiB.
    assert _max_rss_mb() - before < 96
