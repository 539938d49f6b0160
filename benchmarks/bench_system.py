"""Benchmark (not a test): what the progress-reporting update upload costs next to the SDK's one-piece upload.

Run from the repository root:  .venv/bin/python benchmarks/bench_system.py [--mib 32] [--repeat 3]

Uploads a signed update image of --mib MiB to an in-process emulator over HTTPS (pinned), cancelling
it after each upload, in two ways:
  * ours: hsmconsole.device.system.upload_update, 64 KiB chunks with a progress callback;
  * baseline: the SDK's NetHSM.update(image), one body, no progress.
Both include the emulator's signature check (SHA-256 over the image). Prints the median MiB/s of each
and their ratio, and how many progress calls a person would see.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from hsmconsole.device import system as dev  # noqa: E402
from hsmconsole.device.client import Credentials, DeviceClient  # noqa: E402
from hsmconsole.device.profiles import Profile  # noqa: E402
from hsmconsole.emulator.server import EmbeddedEmulator  # noqa: E402
from hsmconsole.emulator.sysupdate import build_update  # noqa: E402
from hsmconsole.secrets import Secret  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    image = build_update(key, "benchmark", "6.0", bytes(args.mib * 1024 * 1024))
    mib = len(image) / (1024 * 1024)
    with EmbeddedEmulator(update_key=key.public_key()) as emu:
        client = DeviceClient(Profile("bench", emu.host_port, fingerprint=emu.fingerprint))
        client.provision(Secret("unlockunlock"), Secret("adminadmin"))
        admin = Credentials("admin", Secret("adminadmin"))
        calls = 0

        def progress(_sent: int, _total: int) -> None:
            nonlocal calls
            calls += 1

        def ours() -> None:
            dev.upload_update(client, admin, image, progress)

        def sdk() -> None:
            client.call("Upload update", admin, lambda s: s.update(image))

        rates: dict[str, list[float]] = {"ours": [], "sdk": []}
        for _ in range(args.repeat):
            for name, fn in (("ours", ours), ("sdk", sdk)):
                start = time.perf_counter()
                fn()
                rates[name].append(mib / (time.perf_counter() - start))
                dev.cancel_update(client, admin)
    ours_rate, sdk_rate = statistics.median(rates["ours"]), statistics.median(rates["sdk"])
    print(f"image {mib:.1f} MiB, {args.repeat} runs each, median")
    print(f"  chunked upload with progress : {ours_rate:7.1f} MiB/s ({calls // args.repeat} progress calls)")
    print(f"  SDK update() in one piece    : {sdk_rate:7.1f} MiB/s")
    print(f"  ratio ours/SDK               : {ours_rate / sdk_rate:7.2f}")


if __name__ == "__main__":
    main()
