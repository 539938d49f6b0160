"""Set-up for the rotation tests: an emulated device, its old share sets, a 'paper' copy of new shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, Share, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.journal.chain import Journal
from hsmconsole.rotation import run
from hsmconsole.rotation.plan import Rotation
from hsmconsole.rotation.record import RotationRecorder
from hsmconsole.secrets import Secret

UNLOCK = "unlockunlock"
ADMIN = "adminadmin"
BACKUP = "backupbackup"
DEVICE_ID = "emu"
OLD_ROSTER = ("Alice", "Bob", "Carol")
NEW_ROSTER = ("Bob", "Carol", "Dave", "Erin")


@dataclass
class Bench:
    """A provisioned emulator with 2-of-3 sets of each device passphrase, and a journal."""

    emulator: EmbeddedEmulator
    client: DeviceClient
    journal: Journal
    old: dict[SecretKind, tuple[Share, ...]]
    paper: list[Secret] = field(default_factory=list)  # new shares as the custodians wrote them

    @property
    def admin(self) -> Credentials:
        return Credentials("admin", Secret(ADMIN))

    def old_paper(self, kind: SecretKind) -> dict[str, Secret]:
        return {n: encode_share(s) for n, s in zip(OLD_ROSTER, self.old[kind], strict=True)}


def make_bench(emulator: EmbeddedEmulator, tmp_path: Path) -> Bench:
    client = DeviceClient(Profile(DEVICE_ID, emulator.host_port, fingerprint=emulator.fingerprint))
    admin = Credentials("admin", Secret(ADMIN))
    client.set_backup_passphrase(admin, Secret(BACKUP))
    old = {
        kind: split_secret(Secret(value), threshold=2, count=3, kind=kind)
        for kind, value in (
            (SecretKind.UNLOCK, UNLOCK),
            (SecretKind.ADMIN, ADMIN),
            (SecretKind.BACKUP, BACKUP),
        )
    }
    return Bench(emulator, client, Journal(tmp_path / "journal.jsonl"), old)


def collect(kind: SecretKind, texts: Sequence[Secret]) -> ShareCollector:
    collector = ShareCollector(kind)
    for text in texts:
        collector.add(Secret(text.reveal()))
    return collector


def start(
    bench: Bench, kind: SecretKind = SecretKind.UNLOCK, roster: Sequence[str] = NEW_ROSTER, threshold: int = 3
) -> tuple[Rotation, RotationRecorder]:
    paper = bench.old_paper(kind)
    return run.start_rotation(
        kind,
        collect(kind, [paper["Alice"], paper["Bob"]]),
        roster,
        threshold,
        bench.client,
        admin=bench.admin,
        journal=bench.journal,
        device_id=DEVICE_ID,
    )


def distribute(bench: Bench, rotation: Rotation, recorder: RotationRecorder, upto: int | None = None) -> None:
    """Each custodian in turn copies their share to 'paper', re-types the asked group, and ends the turn."""
    for handout in list(rotation.handouts)[:upto]:
        name = handout.custodian
        bench.paper.append(Secret(handout.text.reveal()))
        ask = rotation.challenge(name)
        rows = [line.split() for line in handout.text.reveal_str().splitlines() if line.strip()]
        assert rotation.confirm(name, [rows[ask.line - 1][ask.column - 1].lower()]) == (True,)
        run.turn_done(rotation, recorder, name)
