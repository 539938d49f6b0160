"""Benchmark (not a test): what custodian shares cost at the keyboard, next to bare pyshamir.

Run from the repository root:  .venv/bin/python benchmarks/bench_shares.py [--repeat 5]

Prints, for a 52-character passphrase (what the ceremony generates) and K-of-N from 2-of-3 to 16-of-16:
  * split (our checked split, which also combines once to check itself) vs bare pyshamir.split;
  * decode of K share texts (every group's check, the whole-share checksum, the fields);
  * combine (set checks, pyshamir.combine, the commitment) vs bare pyshamir.combine of the same payloads;
  * sealing and opening an envelope with the default Argon2id cost (64 MiB, 3 passes, 4 lanes).
The ratios say how much our integrity checks add to the Shamir arithmetic itself.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyshamir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hsmconsole.custody.envelope import DEFAULT_KDF, open_envelope, seal  # noqa: E402
from hsmconsole.custody.passgen import generate_passphrase  # noqa: E402
from hsmconsole.custody.shares import Share, decode_share, encode_share  # noqa: E402
from hsmconsole.custody.split import (  # noqa: E402
    combine_shares,
    split_secret,
)
from hsmconsole.secrets import Secret  # noqa: E402

POLICIES = ((2, 3), (3, 5), (5, 9), (8, 16), (16, 16))


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def decode_all(texts: list[str]) -> list[Share]:
    return [decode_share(t) for t in texts]


def bare_combine(payloads: list[bytes]) -> bytes:
    return bytes(pyshamir.combine([bytearray(p) for p in payloads]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median reported)")
    args = parser.parse_args()
    secret = generate_passphrase()
    print(f"secret: a generated passphrase of {len(secret)} characters; median of {args.repeat} runs\n")
    header = (
        f"{'K-of-N':<10}| {'split ms':>9} {'bare':>8} {'ratio':>6} | {'decode K ms':>11} | "
        f"{'combine ms':>10} {'bare':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for k, n in POLICIES:
        shares = split_secret(secret, threshold=k, count=n)
        texts = [encode_share(s).reveal_str() for s in shares[:k]]
        payloads = [bytes(s.payload.reveal()) for s in shares[:k]]
        packed_len = len(payloads[0]) - 1

        decoded = [decode_share(t) for t in texts]
        t_split = median_ms(functools.partial(split_secret, secret, threshold=k, count=n), args.repeat)
        t_bare_split = median_ms(functools.partial(pyshamir.split, bytes(packed_len), n, k), args.repeat)
        t_decode = median_ms(functools.partial(decode_all, texts), args.repeat)
        t_combine = median_ms(functools.partial(combine_shares, decoded), args.repeat)
        t_bare = median_ms(functools.partial(bare_combine, payloads), args.repeat)
        assert combine_shares(decoded) == secret
        print(
            f"{k:>3}-of-{n:<3}| {t_split:>9.1f} {t_bare_split:>8.1f} {t_split / t_bare_split:>5.1f}x | "
            f"{t_decode:>11.2f} | {t_combine:>10.1f} {t_bare:>8.1f} {t_combine / t_bare:>5.2f}x"
        )

    shares = split_secret(secret, threshold=2, count=3)
    mine = shares[:1]
    passphrase = Secret("correct horse battery staple")
    kdf = DEFAULT_KDF
    t_seal = median_ms(functools.partial(seal, mine, passphrase), max(1, args.repeat // 2))
    blob = seal(mine, passphrase)
    t_open = median_ms(functools.partial(open_envelope, blob, passphrase), max(1, args.repeat // 2))
    print(
        f"\nenvelope (Argon2id {kdf.memory_kib // 1024} MiB, {kdf.iterations} passes, {kdf.lanes} lanes): "
        f"seal {t_seal:.0f} ms, open {t_open:.0f} ms, {len(blob)} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
