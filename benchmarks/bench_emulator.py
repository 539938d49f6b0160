"""Benchmark (not a test): emulator cold start, and signatures per second through the official SDK.

Run from the repository root:  .venv/bin/python benchmarks/bench_emulator.py [--seconds 5]

Prints:
  * cold start of `python -m hsmconsole emulator` (process start → first GET /health/state answer),
    and of an in-process EmbeddedEmulator (start() → first answer);
  * Ed25519 and RSA-2048 PKCS#1 signatures per second by one Operator over ONE keep-alive HTTPS
    connection through the `nethsm` SDK (pinned TLS), next to the same signing done in-process
    with `cryptography` as the baseline, and the ratio between the two;
  * the store (`--state-dir`, SQLite in WAL mode): key creation per second through the SDK with
    1,000 and with 35,000 keys stored (ratio: should stay within 2x), and Ed25519 signatures per
    second alone and while another client creates keys (ratio: should stay within 2x).
  `--only store` or `--only start,signing` picks sections.
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
import threading
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


def _prefill(emulator: EmbeddedEmulator, total: int) -> None:
    """Store Generic keys until `total` exist, in one store transaction (seconds, not minutes)."""
    hsm = emulator.hsm
    have = len(hsm.list_keys(""))
    # One transaction through the model's internals: only to build a large store quickly.
    with hsm._write_lock, hsm._lock:
        hsm._kv.begin()
        for n in range(have, total):
            record = {
                "mechanisms": ["AES_Decryption_CBC"], "priv": {"raw": "AAAAAAAAAAAAAAAAAAAAAA=="},
                "cert": None, "operations": 0, "restrictions": {},
            }  # fmt: skip
            hsm._keys.put("", f"fill{n:06d}", record, create=True)
        changes = hsm._kv.end()
        hsm._kv.flush(changes)
        hsm._kv.apply(changes)


def bench_store(seconds: float, small: int, large: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEmulator(Path(tmp) / "state") as emulator:

        def client(user: str | None = None, passphrase: str = "") -> nethsm.NetHSM:
            auth = nethsm.Authentication(user, passphrase) if user else None
            sdk = nethsm.NetHSM(emulator.host_port, auth)
            pin_sdk(sdk, emulator.fingerprint)
            return sdk

        client().provision("unlock-bench-1", "admin-bench-1", datetime.now(UTC))
        admin = client("admin", "admin-bench-1")
        admin.add_user("bench", nethsm.Role.OPERATOR, "operator-bench-1", "bench")
        admin.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 255, "ed")
        counter = iter(range(10**9))
        aes = [nethsm.KeyMechanism.AES_DECRYPTION_CBC]

        def create(sdk: nethsm.NetHSM = admin) -> None:
            sdk.generate_key(nethsm.KeyType.GENERIC, aes, 128, f"new{next(counter):07d}")

        rates = {}
        for total in (small, large):
            _prefill(emulator, total)
            rates[total] = rate(create, seconds)
            print(f"  key creation with {total:6,} keys stored: {rates[total]:7.1f}/s "
                  f"({1000 / rates[total]:.1f} ms per key)")
        print(f"  creation rate at {small:,} / at {large:,} keys: "
              f"{rates[small] / rates[large]:.2f}x (goal: within 2x)")

        operator = client("bench", "operator-bench-1")
        message = nethsm.Base64.encode(b"benchmark message")
        alone = rate(lambda: operator.sign("ed", message, nethsm.SignMode.EDDSA), seconds)
        stop = threading.Event()
        created = [0]

        def creator() -> None:
            other = client("admin", "admin-bench-1")
            while not stop.is_set():
                create(other)
                created[0] += 1
            other.close()

        thread = threading.Thread(target=creator)
        thread.start()
        time.sleep(0.5)
        started_with = created[0]
        began = time.perf_counter()
        busy = rate(lambda: operator.sign("ed", message, nethsm.SignMode.EDDSA), seconds)
        creation_meanwhile = (created[0] - started_with) / (time.perf_counter() - began)
        stop.set()
        thread.join()
        print(f"  Ed25519 signing alone: {alone:7.1f}/s; while another client creates keys "
              f"({creation_meanwhile:.1f} keys/s, {large:,}+ keys stored): {busy:7.1f}/s")
        print(f"  signing alone / while creating: {alone / busy:.2f}x (goal: within 2x)")
        operator.close()
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure")
    parser.add_argument("--starts", type=int, default=5, help="cold starts to average")
    parser.add_argument("--only", default="start,signing,store", help="sections: start,signing,store")
    parser.add_argument("--keys", default="1000,35000", help="store sizes to compare (small,large)")
    args = parser.parse_args()
    sections = set(args.only.split(","))

    print(f"python {sys.version.split()[0]}, nethsm SDK {nethsm.__version__}, {os.cpu_count()} CPUs")
    if "store" in sections:
        small, large = (int(n) for n in args.keys.split(","))
        print(f"store (state directory, SQLite WAL), {args.seconds:.0f} s per figure:")
        bench_store(args.seconds, small, large)
    if "start" in sections:
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
    if "signing" in sections:
        print(f"signing over one keep-alive HTTPS connection through the SDK ({args.seconds:.0f} s each):")
        for name, sdk, local in bench_signing(args.seconds):
            print(
                f"  {name:15} SDK→emulator {sdk:8.1f}/s   in-process cryptography {local:9.1f}/s   "
                f"ratio {local / sdk:6.1f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
