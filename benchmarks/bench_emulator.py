"""Benchmark (not a test): emulator cold start, and signatures per second through the official SDK.

Run from the repository root:  .venv/bin/python benchmarks/bench_emulator.py [--seconds 5]

Prints:
  * cold start of `python -m hsmconsole emulator` (process start → first GET /health/state answer),
    and of an in-process EmbeddedEmulator (start() → first answer);
  * Ed25519 and RSA-2048 PKCS#1 signatures per second by one Operator over ONE keep-alive HTTPS
    connection through the `nethsm` SDK (pinned TLS), next to the same signing done in-process
    with `cryptography` as the baseline, and the ratio between the two.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nethsm
import urllib3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hsmconsole.device.tls import pin_sdk  # noqa: E402
from hsmconsole.emulator.server import EmbeddedEmulator  # noqa: E402

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_state_answer(host: str, port: int, deadline: float) -> None:
    """Poll GET /health/state until it answers 200 (TLS not verified: only timing matters here)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    request = f"GET /api/v1/health/state HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    while time.perf_counter() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1) as raw, ctx.wrap_socket(raw) as tls:
                tls.sendall(request)
                if tls.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.005)
    raise TimeoutError("the emulator did not answer in time")


def cold_start_process(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        with tempfile.TemporaryDirectory() as state:
            started = time.perf_counter()
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "hsmconsole", "emulator", "--port", str(port), "--state-dir", state],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                first_state_answer("127.0.0.1", port, started + 60)
                times.append(time.perf_counter() - started)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    return times


def cold_start_embedded(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        emulator = EmbeddedEmulator()
        emulator.start()
        host, port = emulator.host_port.rsplit(":", 1)
        first_state_answer(host, int(port), started + 60)
        times.append(time.perf_counter() - started)
        emulator.stop()
    return times


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of fn over about `seconds` (after one warm-up call)."""
    fn()
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        fn()
        count += 1
    return count / elapsed


def bench_signing(seconds: float) -> list[tuple[str, float, float]]:
    rows = []
    with EmbeddedEmulator() as emulator:
        anon = nethsm.NetHSM(emulator.host_port)
        pin_sdk(anon, emulator.fingerprint)
        anon.provision("unlock-bench-1", "admin-bench-1", datetime.now(UTC))
        admin = nethsm.NetHSM(emulator.host_port, nethsm.Authentication("admin", "admin-bench-1"))
        pin_sdk(admin, emulator.fingerprint)
        admin.add_user("bench", nethsm.Role.OPERATOR, "operator-bench-1", "bench")
        ed_key = ed25519.Ed25519PrivateKey.generate()
        ed_raw = ed_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        admin.add_key(
            "ed",
            nethsm.KeyType.CURVE25519,
            [nethsm.KeyMechanism.EDDSA_SIGNATURE],
            nethsm.GenericPrivateKey(data=nethsm.Base64.encode(ed_raw)),
        )
        rsa_key = rsa.generate_private_key(65537, 2048)
        numbers = rsa_key.private_numbers()

        def b64int(n: int) -> nethsm.Base64:
            return nethsm.Base64.encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        admin.add_key(
            "rsa",
            nethsm.KeyType.RSA,
            [nethsm.KeyMechanism.RSA_SIGNATURE_PKCS1],
            nethsm.RsaPrivateKey(
                prime_p=b64int(numbers.p),
                prime_q=b64int(numbers.q),
                public_exponent=b64int(numbers.public_numbers.e),
            ),
        )
        admin.close()
        anon.close()

        operator = nethsm.NetHSM(emulator.host_port, nethsm.Authentication("bench", "operator-bench-1"))
        # ONE keep-alive connection: a pool of a single connection, pinned to the emulator.
        pin_sdk(operator, emulator.fingerprint)
        operator.client.rest_client.pool_manager = urllib3.PoolManager(  # type: ignore[assignment]
            num_pools=1,
            maxsize=1,
            block=True,
            cert_reqs=ssl.CERT_NONE,
            assert_fingerprint=emulator.fingerprint.replace(":", "").lower(),
        )
        message = b"benchmark message " * 4
        ed_b64 = nethsm.Base64.encode(message)
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        rsa_b64 = nethsm.Base64.encode(digest_info)

        # Sanity: what the SDK returns verifies, so we time real signatures.
        ed_key.public_key().verify(operator.sign("ed", ed_b64, nethsm.SignMode.EDDSA).decode(), message)
        rsa_key.public_key().verify(
            operator.sign("rsa", rsa_b64, nethsm.SignMode.PKCS1).decode(),
            message,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        sdk_ed = rate(lambda: operator.sign("ed", ed_b64, nethsm.SignMode.EDDSA), seconds)
        local_ed = rate(lambda: ed_key.sign(message), seconds)
        rows.append(("Ed25519", sdk_ed, local_ed))
        sdk_rsa = rate(lambda: operator.sign("rsa", rsa_b64, nethsm.SignMode.PKCS1), seconds)
        digest = hashlib.sha256(message).digest()
        local_rsa = rate(
            lambda: rsa_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256())), seconds
        )
        rows.append(("RSA-2048 PKCS1", sdk_rsa, local_rsa))
        pool = operator.client.rest_client.pool_manager
        connections = sum(p.num_connections for p in pool.pools._container.values())
        operator.close()
    assert connections == 1, f"expected one keep-alive connection, the pool opened {connections}"
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure")
    parser.add_argument("--starts", type=int, default=5, help="cold starts to average")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, nethsm SDK {nethsm.__version__}, {os.cpu_count()} CPUs")
    proc = cold_start_process(args.starts)
    print(
        f"cold start, `python -m hsmconsole emulator` process → first /health/state answer: "
        f"median {statistics.median(proc) * 1000:.0f} ms (min {min(proc) * 1000:.0f}, n={len(proc)})"
    )
    emb = cold_start_embedded(args.starts)
    print(
        f"cold start, in-process EmbeddedEmulator.start() → first /health/state answer: "
        f"median {statistics.median(emb) * 1000:.1f} ms (min {min(emb) * 1000:.1f}, n={len(emb)})"
    )
    print(f"signing over one keep-alive HTTPS connection through the SDK ({args.seconds:.0f} s each):")
    for name, sdk, local in bench_signing(args.seconds):
        print(
            f"  {name:15} SDK→emulator {sdk:8.1f}/s   in-process cryptography {local:9.1f}/s   "
            f"ratio {local / sdk:6.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
