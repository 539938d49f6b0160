"""Benchmark (not a test): what rotation adds to reading the journal, and one rotation on the emulator.

Run from the repository root:  .venv/bin/python benchmarks/bench_rotation.py [--entries 20000]

Prints:
  * reading a journal of N entries with its chain verified (Journal.entries, the baseline), and the
    same plus the rotation records, void judge and credential ages the dashboard and the quorum
    screens derive from it, with the ratio between the two;
  * one unlock rotation 2-of-3 -> 3-of-4 on an in-process emulator over HTTPS, split by phase
    (old quorum checked against the device, generate and split, device change + check + void).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, SetRef, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.journal.chain import Journal, JournalEvent, Outcome
from hsmconsole.rotation import run
from hsmconsole.rotation.age import credential_ages
from hsmconsole.rotation.plan import make_plan
from hsmconsole.rotation.record import RotationRecorder, rotations_in, void_reason
from hsmconsole.secrets import Secret


def _fill(journal: Journal, n: int) -> None:
    plan = make_plan(SecretKind.UNLOCK, SetRef("ABCDEFGH", 1), ["Bob", "Carol", "Dave"], 2)
    rec = RotationRecorder(journal, "dev", plan)
    for i in range(n):
        if i % 10 == 0:
            rec.add("rotation.planned", roster=True)
        else:
            journal.append(JournalEvent("op", "unlock", Outcome.OK, device_id="dev", detail=f"entry {i}"))


def _best(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def journal_figures(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "j.jsonl")
        _fill(journal, n)
        base = _best(journal.entries)

        def derived() -> None:
            entries = journal.entries()
            records = rotations_in(entries, "dev")
            void_reason(records, SetRef("ABCDEFGH", 1))
            credential_ages(entries, "dev", limit_days=365)

        full = _best(derived)
    print(
        f"journal of {n} entries: verified read {base * 1000:.1f} ms; with rotation records, void "
        f"judge and ages {full * 1000:.1f} ms; ratio {full / base:.2f}"
    )


def rotation_figures() -> None:
    with EmbeddedEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        client = DeviceClient(Profile("bench", emu.host_port, fingerprint=emu.fingerprint))
        client.provision(Secret("unlockunlock"), Secret("adminadmin"))
        admin = Credentials("admin", Secret("adminadmin"))
        old = split_secret(Secret("unlockunlock"), threshold=2, count=3, kind=SecretKind.UNLOCK)
        collector = ShareCollector(SecretKind.UNLOCK)
        for share in old[:2]:
            collector.add(encode_share(share))
        journal = Journal(Path(tmp) / "j.jsonl")
        t0 = time.perf_counter()
        rotation, recorder = run.start_rotation(
            SecretKind.UNLOCK,
            collector,
            ["Bob", "Carol", "Dave", "Erin"],
            3,
            client,
            admin=admin,
            journal=journal,
            device_id="bench",
        )
        t1 = time.perf_counter()
        run.generate(rotation, recorder)
        t2 = time.perf_counter()
        for h in list(rotation.handouts):
            ask = rotation.challenge(h.custodian)
            rows = [line.split() for line in h.text.reveal_str().splitlines()]
            rotation.confirm(h.custodian, [rows[ask.line - 1][ask.column - 1]])
            run.turn_done(rotation, recorder, h.custodian)
        t3 = time.perf_counter()
        run.apply(rotation, recorder, client, admin=admin)
        t4 = time.perf_counter()
    print(
        f"unlock rotation on the emulator: old quorum checked {1000 * (t1 - t0):.0f} ms, generate and "
        f"split {1000 * (t2 - t1):.0f} ms, four turns (journal) {1000 * (t3 - t2):.0f} ms, change + "
        f"check + void {1000 * (t4 - t3):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20000)
    args = parser.parse_args()
    journal_figures(args.entries)
    rotation_figures()


if __name__ == "__main__":
    main()
