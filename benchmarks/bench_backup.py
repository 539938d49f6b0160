"""Benchmark (not a test): inspecting and downloading a backup with many keys.

Run from the repository root:  .venv/bin/python benchmarks/bench_backup.py [--keys 5000] [--runs 3]

An emulator gets `--keys` Ed25519 keys (stored by the device's own key import, one request each),
a backup passphrase and a Backup user. Then it prints:
  * download: `create_backup` (streamed through the SDK's generated client, to a 0600 file, with
    the framing check) beside a plain urllib3 POST of the same endpoint read whole into memory,
    with the ratio, and the peak Python memory of each (tracemalloc);
  * inspect: `inspect_backup` with both passphrases (both layers, every record parsed) beside the
    floor: the two scrypt derivations plus AES-GCM over the same outer records done directly with
    `cryptography`; the ratio (goal <= 1.2x) and the peak memory of the inspection.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nethsm
import urllib3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hsmconsole.backup import format as fmt  # noqa: E402
from hsmconsole.backup.create import create_backup  # noqa: E402
from hsmconsole.backup.inspect import inspect_backup  # noqa: E402
from hsmconsole.device import backups as device_backups  # noqa: E402
from hsmconsole.device.client import Credentials, DeviceClient  # noqa: E402
from hsmconsole.device.profiles import Profile  # noqa: E402
from hsmconsole.device.tls import pin_sdk  # noqa: E402
from hsmconsole.emulator.server import EmbeddedEmulator  # noqa: E402
from hsmconsole.secrets import Secret  # noqa: E402

UNLOCK, ADMIN, BACKUP, BACKUP_USER = "unlock-bench-pp", "admin-bench-pp", "backup-bench-pp", "user-bench-pp"


def _fill(emu: EmbeddedEmulator, keys: int) -> None:
    s = nethsm.NetHSM(emu.host_port, auth=nethsm.Authentication("admin", ADMIN))
    pin_sdk(s, emu.fingerprint)
    try:
        s.provision(UNLOCK, ADMIN, datetime.now(UTC))
        s.set_backup_passphrase(BACKUP, current_passphrase="")
        s.add_user("Backup", nethsm.Role.BACKUP, BACKUP_USER, "backup1")
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        started = time.perf_counter()
        for i in range(keys):
            s.add_key_pem(f"k{i:05d}", [nethsm.KeyMechanism.EDDSA_SIGNATURE], pem)
            if i and i % 1000 == 0:
                print(f"  {i} keys ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    finally:
        s.close()


def _best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _floor(path: Path) -> None:
    """Two scrypt runs and AES-GCM over every outer field: the least any full inspection must do."""
    data = path.read_bytes()
    _, salt = fmt.read_header(data)
    aead = AESGCM(fmt.scrypt(BACKUP, salt))
    fmt.scrypt(UNLOCK, salt)  # the unlock key: same cost whatever the salt
    pos = len(fmt.HEADER) + 1 + 3 + len(salt)
    adatas = [b"backup-version", b"domain-key", b"backup-device-id", b"backup-config-store-key"]
    while True:
        n = int.from_bytes(data[pos : pos + 3], "big")
        pos += 3
        if n == 0:
            break
        field = data[pos : pos + n]
        pos += n
        aead.decrypt(field[:12], field[12:], adatas.pop(0) if adatas else b"backup")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEmulator() as emu:
        print(f"Filling an emulator with {args.keys} keys...", file=sys.stderr)
        _fill(emu, args.keys)
        client = DeviceClient(Profile("bench", emu.host_port, fingerprint=emu.fingerprint))
        creds = Credentials("backup1", Secret(BACKUP_USER))
        out = Path(tmp)
        made: list[Path] = []

        def ours() -> None:
            made.append(create_backup(client, creds, out / str(len(made))).path)

        pin = emu.fingerprint.replace(":", "").lower()
        token = base64.b64encode(f"backup1:{BACKUP_USER}".encode()).decode()

        def plain() -> None:
            # A fresh pool each time: our client opens one connection per call too (no keep-alive
            # across calls, so no passphrase lingers in a long-lived SDK object).
            pool = urllib3.PoolManager(cert_reqs="CERT_NONE", assert_fingerprint=pin)
            r = pool.request("POST", f"https://{emu.host_port}/api/v1/system/backup",
                             headers={"Authorization": f"Basic {token}"})  # fmt: skip
            assert r.status == 200 and r.data
            pool.clear()

        def streamed() -> None:
            device_backups.stream_backup(client, creds, lambda chunks, _n: sum(len(c) for c in chunks))

        plain()
        ours()
        t_ours, t_plain = _best(ours, args.runs), _best(plain, args.runs)
        t_stream = _best(streamed, args.runs)
        m_ours, m_plain = _peak(ours), _peak(plain)
        path = made[-1]
        size = path.stat().st_size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"backup: {args.keys} keys, {size / 1e6:.2f} MB, sha256 {digest}")
        print(f"download  create_backup {t_ours * 1000:8.1f} ms   plain urllib3 POST "
              f"{t_plain * 1000:8.1f} ms   ratio {t_ours / t_plain:.2f}x")  # fmt: skip
        print(f"          stream only   {t_stream * 1000:8.1f} ms   (no file: the rest is mkstemp, "
              "fsync, framing check, rename, manifest)")  # fmt: skip
        print(f"          peak memory   {m_ours / 1e6:8.2f} MB   plain (whole body) {m_plain / 1e6:8.2f} MB")

        def inspect() -> None:
            r = inspect_backup(path, backup_passphrase=Secret(BACKUP), unlock_passphrase=Secret(UNLOCK))
            assert len(r.inventory.keys) == args.keys

        t_inspect, t_floor = _best(inspect, args.runs), _best(lambda: _floor(path), args.runs)
        m_inspect = _peak(inspect)
        print(f"inspect   inspect_backup {t_inspect * 1000:7.1f} ms   floor (2 scrypt + AES-GCM) "
              f"{t_floor * 1000:7.1f} ms   ratio {t_inspect / t_floor:.2f}x (goal <= 1.20x)")  # fmt: skip
        print(f"          peak memory   {m_inspect / 1e6:8.2f} MB (file {size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
