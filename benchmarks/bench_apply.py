"""Benchmark (not a test): `apply` of 200 users and 500 keys, and planning a device with 2,000 keys.

Run from the repository root:
    .venv/bin/python benchmarks/bench_apply.py [--users 200] [--keys 500] [--plan-keys 2000]
        [--nitropy PATH/TO/nitropy] [--sample 30]

Each run gets a fresh emulator in its own process (`python -m hsmconsole emulator`), reached over
HTTPS on loopback, provisioned and empty. The workload: N Operator users with one tag each, and M
Ed25519 keys with one tag each (2N + 2M requests). Measured:

  * ours: `hsmconsole.admin` load_config + compute_plan + apply_plan, exactly what `hsmconsole apply
    --yes` runs (passphrases generated and written to 0600 files included);
  * (a) the floor: a plain loop over the `nethsm` SDK on ONE keep-alive connection, fixed passphrases;
  * (b) one `nitropy nethsm` process per change (pynitrokey, in its own venv; pass --nitropy): run on
    a sample of the changes in the same mix and extrapolated to all of them (a process start per
    change takes too long to run 1,400 times here). TLS verification is off for nitropy (the
    emulator's certificate has no SAN; nitropy cannot pin). Without --nitropy, (b) is one fresh
    Python process + SDK connection per change, labelled as such.

Then planning: a device holding K keys (created untimed), read by `compute_plan` with a file that
declares them all (so the plan is empty), beside a sequential SDK loop (list + GET each key) on one
connection.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import nethsm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hsmconsole.admin.apply import apply_plan  # noqa: E402
from hsmconsole.admin.config import load_config  # noqa: E402
from hsmconsole.admin.passphrases import Passphrases  # noqa: E402
from hsmconsole.admin.state import READERS, Actors, compute_plan  # noqa: E402
from hsmconsole.device.client import Credentials, DeviceClient  # noqa: E402
from hsmconsole.device.profiles import Profile  # noqa: E402
from hsmconsole.device.tls import fetch_certificate, fingerprint_of, pin_sdk  # noqa: E402
from hsmconsole.secrets import Secret  # noqa: E402

ADMIN_PASS = "bench-admin-passphrase"  # noqa: S105 - a throwaway emulator's, nothing real
USER_PASS = "bench-user-passphrase"  # noqa: S105
TAGS = ("alpha", "beta", "gamma", "delta")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator() -> Iterator[tuple[str, str]]:
    """A fresh provisioned emulator process: yields (host:port, fingerprint)."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "hsmconsole", "emulator", "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                fingerprint = fingerprint_of(fetch_certificate(host, 1))
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        sdk = nethsm.NetHSM(host)
        pin_sdk(sdk, fingerprint)
        sdk.provision("bench-unlock-passphrase", ADMIN_PASS, datetime.now(UTC))
        sdk.close()
        yield host, fingerprint
    finally:
        proc.terminate()
        proc.wait(10)


def admin_sdk(host: str, fingerprint: str) -> nethsm.NetHSM:
    sdk = nethsm.NetHSM(host, auth=nethsm.Authentication("admin", ADMIN_PASS))
    pin_sdk(sdk, fingerprint)
    return sdk


def config_text(users: int, keys: int) -> str:
    out = []
    for i in range(users):
        out += ["[[users]]", f'id = "op{i}"', 'role = "Operator"', f'tags = ["{TAGS[i % 4]}"]',
                f'passphrase = {{ generate = true, file = "secrets/op{i}.pass" }}', ""]  # fmt: skip
    for i in range(keys):
        out += ["[[keys]]", f'id = "k{i}"', 'type = "Curve25519"', 'mechanisms = ["EdDSA_Signature"]',
                f'tags = ["{TAGS[i % 4]}"]', ""]  # fmt: skip
    return "\n".join(out)


def changes(users: int, keys: int) -> list[tuple[str, int]]:
    """The workload as (kind, index), in the order apply makes them."""
    return ([("user", i) for i in range(users)] + [("user-tag", i) for i in range(users)]
            + [(k, i) for i in range(keys) for k in ("key", "key-tag")])  # fmt: skip


def run_ours(host: str, fingerprint: str, users: int, keys: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(config_text(users, keys))
        client = DeviceClient(Profile("bench", host, fingerprint=fingerprint))
        started = time.perf_counter()
        config = load_config(path)
        passphrases = Passphrases("bench")
        actors = Actors(Credentials("admin", Secret(ADMIN_PASS)), config, passphrases)
        plan = compute_plan(client, config, actors)
        report = apply_plan(client, plan, actors, passphrases)
        elapsed = time.perf_counter() - started
        assert report.ok and len(report.applied) == 2 * (users + keys), report
        assert compute_plan(client, config, actors).empty
    return elapsed


def run_floor(host: str, fingerprint: str, users: int, keys: int) -> float:
    sdk = admin_sdk(host, fingerprint)
    started = time.perf_counter()
    for i in range(users):
        sdk.add_user(f"op{i}", nethsm.Role.OPERATOR, USER_PASS, f"op{i}")
    for i in range(users):
        sdk.add_operator_tag(f"op{i}", TAGS[i % 4])
    for i in range(keys):
        sdk.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 128, f"k{i}")
        sdk.add_key_tag(f"k{i}", TAGS[i % 4])
    elapsed = time.perf_counter() - started
    sdk.close()
    return elapsed


def nitropy_argv(nitropy: str, host: str, kind: str, i: int) -> list[str]:
    base = [nitropy, "nethsm", "--host", host, "--username", "admin", "--no-verify-tls"]
    if kind == "user":
        return [*base, "add-user", "-n", f"op{i}", "-r", "operator", "-u", f"op{i}", "-p", USER_PASS]
    if kind == "user-tag":
        return [*base, "add-operator-tag", f"op{i}", TAGS[i % 4]]
    if kind == "key":
        return [
            *base,
            "generate-key",
            "-t",
            "curve25519",
            "-m",
            "eddsa_signature",
            "-l",
            "128",
            "-k",
            f"k{i}",
        ]
    return [*base, "add-key-tag", f"k{i}", TAGS[i % 4]]


SDK_ONE_CHANGE = """
import sys, nethsm
from hsmconsole.device.tls import pin_sdk
host, fp, kind, i = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tags = ("alpha", "beta", "gamma", "delta")
s = nethsm.NetHSM(host, auth=nethsm.Authentication("admin", sys.stdin.read()))
pin_sdk(s, fp)
if kind == "user": s.add_user(f"op{i}", nethsm.Role.OPERATOR, "bench-user-passphrase", f"op{i}")
elif kind == "user-tag": s.add_operator_tag(f"op{i}", tags[i % 4])
elif kind == "key":
    s.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 128, f"k{i}")
else: s.add_key_tag(f"k{i}", tags[i % 4])
"""


def run_per_process(host: str, fingerprint: str, nitropy: str | None, sample: int) -> float:
    """Seconds per change, over a sample with the workload's mix (user, tag, key, tag)."""
    per_kind = max(1, sample // 4)
    work = [(k, i) for i in range(per_kind) for k in ("user", "user-tag", "key", "key-tag")]
    env = {**os.environ, "ALLOW_ROOT": "1", "NETHSM_PASSWORD": ADMIN_PASS}
    started = time.perf_counter()
    for kind, i in work:
        if nitropy:
            argv = nitropy_argv(nitropy, host, kind, i)
            subprocess.run(argv, check=True, env=env, capture_output=True, stdin=subprocess.DEVNULL)  # noqa: S603
        else:
            subprocess.run(  # noqa: S603
                [sys.executable, "-c", SDK_ONE_CHANGE, host, fingerprint, kind, str(i)],
                check=True, input=ADMIN_PASS, text=True, cwd=REPO, capture_output=True,
            )  # fmt: skip
    return (time.perf_counter() - started) / len(work)


def bench_plan(key_count: int) -> tuple[float, float]:
    with emulator() as (host, fingerprint), tempfile.TemporaryDirectory() as tmp:
        sdk = admin_sdk(host, fingerprint)
        for i in range(key_count):
            sdk.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 128, f"k{i}")
            sdk.add_key_tag(f"k{i}", TAGS[i % 4])
        started = time.perf_counter()
        ids = sdk.list_keys()
        found = [sdk.get_key(key_id) for key_id in ids]
        loop = time.perf_counter() - started
        sdk.close()
        assert len(found) == key_count
        path = Path(tmp) / "plan.toml"
        path.write_text(config_text(0, key_count))
        client = DeviceClient(Profile("bench", host, fingerprint=fingerprint))
        config = load_config(path)
        actors = Actors(Credentials("admin", Secret(ADMIN_PASS)), config, Passphrases("bench"))
        started = time.perf_counter()
        plan = compute_plan(client, config, actors)
        ours = time.perf_counter() - started
        assert plan.empty, plan.changes[:3]
    return ours, loop


def timed(label: str, fn: Callable[[], float]) -> float:
    print(f"  {label} …", end="", flush=True)
    value = fn()
    print(f" {value:.2f} s")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--plan-keys", type=int, default=2000)
    parser.add_argument("--nitropy", help="path to a nitropy executable (pynitrokey) in its own venv")
    parser.add_argument("--repeat", type=int, default=3, help="apply runs of each (medians are compared)")
    parser.add_argument("--sample", type=int, default=32, help="changes run as separate processes for (b)")
    args = parser.parse_args()
    n, m = args.users, args.keys
    total = len(changes(n, m))
    print(f"apply: {args.users} users + {args.keys} Ed25519 keys, one tag each = {total} requests")
    floors: list[float] = []
    ourss: list[float] = []
    for _ in range(args.repeat):
        # Interleaved, each on a fresh emulator: a shared machine's load drifts during the run.
        with emulator() as (host, fp):
            floors.append(timed("(a) SDK loop, one connection (floor)", lambda: run_floor(host, fp, n, m)))
        with emulator() as (host, fp):
            ourss.append(timed("hsmconsole plan + apply", lambda: run_ours(host, fp, n, m)))
    floor, ours = statistics.median(floors), statistics.median(ourss)
    print(f"  medians of {args.repeat}: floor {floor:.2f} s, ours {ours:.2f} s")
    label = "nitropy nethsm process" if args.nitropy else "fresh python+SDK process (no nitropy given)"
    with emulator() as (host, fp):
        per = run_per_process(host, fp, args.nitropy, args.sample)
    per_process = per * total
    print(f"  (b) one {label} per change: {per * 1000:.0f} ms/change over {max(1, args.sample // 4) * 4} "
          f"changes -> {per_process:.1f} s for {total} (extrapolated)")  # fmt: skip
    print(f"ratio ours / floor            : {ours / floor:.2f}x   (goal <= 1.30x)")
    print(f"ratio per-process / ours      : {per_process / ours:.1f}x")
    print(f"ratio per-process / floor     : {per_process / floor:.1f}x")
    print(f"\nplan: a device with {args.plan_keys} keys")
    ours_plan, loop = bench_plan(args.plan_keys)
    print(f"  sequential SDK loop (list + GET each, one connection): {loop:.2f} s")
    print(f"  hsmconsole compute_plan ({READERS} sessions side by side): {ours_plan:.2f} s")
    print(f"ratio plan / SDK loop         : {ours_plan / loop:.2f}x   (goal <= 1.00x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
