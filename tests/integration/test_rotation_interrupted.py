"""A rotation killed, cut off or refused at every step: the next start names the set that opens the device."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.device import passphrases as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.passphrases import CheckResult
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState
from hsmconsole.rotation import recover, run
from hsmconsole.rotation.plan import Rotation, Step
from hsmconsole.rotation.record import RotationRecorder, current_generation, read_rotations, void_reason
from hsmconsole.secrets import Secret
from tests.integration.rotation_helpers import ADMIN, DEVICE_ID, Bench, collect, distribute, make_bench, start

pytestmark = pytest.mark.slow  # each case provisions an emulator and runs the device's scrypt


class Killed(BaseException):
    """The console died here (BaseException: nothing of ours catches it)."""


def kill_after(recorder: RotationRecorder, action: str, nth: int = 1) -> None:
    """Make the recorder die right after it journaled `action` for the `nth` time."""
    original = recorder.add
    seen = [0]

    def add(name: str, *args: Any, **kwargs: Any) -> None:
        original(name, *args, **kwargs)
        if name == action:
            seen[0] += 1
            if seen[0] == nth:
                raise Killed(action)

    recorder.add = add  # type: ignore[method-assign]


class DyingClient(DeviceClient):
    """Dies right after (or right before) the request that changes the passphrase reached the device."""

    def __init__(self, base: DeviceClient, *, reach: bool) -> None:
        super().__init__(base.profile)
        self.reach = reach

    def _die(self, fn: Callable[[], None]) -> None:
        if self.reach:
            fn()
        raise Killed("change")

    def set_unlock_passphrase(self, admin: Credentials, new: Secret, current: Secret) -> None:
        self._die(lambda: super(DyingClient, self).set_unlock_passphrase(admin, new, current))

    def set_backup_passphrase(self, admin: Credentials, new: Secret, current: Secret | None = None) -> None:
        self._die(lambda: super(DyingClient, self).set_backup_passphrase(admin, new, current))

    def set_admin_passphrase(self, admin: Credentials, new: Secret) -> None:
        self._die(lambda: super(DyingClient, self).set_admin_passphrase(admin, new))


def opens(bench: Bench, kind: SecretKind, secret: Secret, admin: Credentials) -> bool:
    if kind is SecretKind.ADMIN:
        return dev.check_admin(bench.client, "admin", secret) is CheckResult.CURRENT
    check = dev.check_unlock if kind is SecretKind.UNLOCK else dev.check_backup
    return check(bench.client, admin, secret) is CheckResult.CURRENT


def run_until_killed(bench: Bench, kind: SecretKind, where: str) -> tuple[Rotation, Secret, Secret]:
    """Rotate `kind` to 3-of-4 and die at `where`; returns (rotation, old secret, new secret) copies."""
    rotation, recorder = start(bench, kind)
    old = Secret(rotation.old_secret.reveal())
    new = Secret(b"")
    client = bench.client
    if where.startswith("device-"):
        client = DyingClient(bench.client, reach=where == "device-reached")
    elif where.startswith("confirmed-"):
        kill_after(recorder, "rotation.confirmed", int(where.split("-")[1]))
    elif where != "planned":
        kill_after(recorder, f"rotation.{where}")
    try:
        if where == "planned":
            raise Killed(where)
        run.generate(rotation, recorder)
        assert rotation.new_secret is not None
        new = Secret(rotation.new_secret.reveal())
        distribute(bench, rotation, recorder)
        run.apply(rotation, recorder, client, admin=bench.admin)
    except Killed:
        pass
    else:
        pytest.fail("the rotation was not interrupted")
    rotation.wipe()  # what the console held in memory is gone
    return rotation, old, new


STEPS = [
    "planned", "split", "confirmed-1", "confirmed-3", "distributed", "changing",
    "device-not-reached", "device-reached", "changed", "verified",
]  # fmt: skip


@pytest.mark.parametrize("where", STEPS)
def test_unlock_rotation_killed_at_every_step(
    provisioned: EmbeddedEmulator, tmp_path: Path, where: str
) -> None:
    check_recovery(provisioned, tmp_path, SecretKind.UNLOCK, where)


@pytest.mark.parametrize("kind", [SecretKind.ADMIN, SecretKind.BACKUP])
@pytest.mark.parametrize("where", ["device-not-reached", "device-reached", "changed"])
def test_admin_and_backup_killed_around_the_change(
    provisioned: EmbeddedEmulator, tmp_path: Path, kind: SecretKind, where: str
) -> None:
    check_recovery(provisioned, tmp_path, kind, where)


def check_recovery(emulator: EmbeddedEmulator, tmp_path: Path, kind: SecretKind, where: str) -> None:
    bench = make_bench(emulator, tmp_path)
    rotation, old, new = run_until_killed(bench, kind, where)
    plan = rotation.plan
    journal = Journal(bench.journal.path)  # the next start reads the file afresh
    pending = recover.pending(journal, DEVICE_ID)
    assert len(pending) == 1
    found = pending[0]

    def admin_now() -> Credentials:
        # For the admin rotation the admin is whichever set is current; otherwise unchanged.
        if kind is SecretKind.ADMIN:
            who = new if dev.check_admin(bench.client, "admin", new) is CheckResult.CURRENT else old
            return Credentials("admin", Secret(who.reveal()))
        return Credentials("admin", Secret(ADMIN))

    # Exactly one of the two sets opens the device: never neither, never both.
    old_opens = opens(bench, kind, old, admin_now())
    new_opens = bool(len(new)) and opens(bench, kind, new, admin_now())
    assert old_opens != new_opens
    device_has = plan.target if new_opens else plan.old
    if found.valid is not None:
        assert found.valid == device_has, found.message
    device_acted = where in ("device-reached", "changed", "verified")
    assert (
        found.next
        is {
            True: recover.NextStep.FINISH
            if where in ("changed", "verified")
            else recover.NextStep.ASK_DEVICE,
            False: recover.NextStep.ASK_DEVICE
            if where in ("changing", "device-not-reached")
            else recover.NextStep.DISCARD,
        }[device_acted]
    )

    if found.next is recover.NextStep.ASK_DEVICE:
        found = recover.ask_device(
            found,
            collect(kind, bench.paper[:3]),
            bench.client,
            admin=admin_now(),
            journal=journal,
            device_id=DEVICE_ID,
        )
        assert found.valid == device_has
    if found.next is recover.NextStep.DISCARD:
        recover.discard(found, journal=journal, device_id=DEVICE_ID)
    else:
        recover.finish(
            found,
            collect(kind, bench.paper[1:4]),
            bench.client,
            admin=admin_now(),
            journal=journal,
            device_id=DEVICE_ID,
        )

    records = read_rotations(journal, DEVICE_ID)
    assert recover.pending(journal, DEVICE_ID) == []
    if device_has == plan.target:
        assert current_generation(records, plan.old.set_id) == plan.generation
        assert void_reason(records, plan.old) is not None
        assert void_reason(records, plan.target) is None
    else:
        assert current_generation(records, plan.old.set_id) is None
        assert void_reason(records, plan.target) is not None  # discarded shares are void
        assert void_reason(records, plan.old) is None
        # A new attempt never reuses the discarded generation.
        again, _ = start(bench, kind)
        assert again.plan.generation == plan.generation + 1
        again.wipe()
    # The set the journal now calls current is the one that opens the device.
    current = new if device_has == plan.target else old
    assert opens(bench, kind, current, admin_now())


def test_connection_cut_during_the_change_then_settled(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    rotation, recorder = start(bench)
    run.generate(rotation, recorder)
    distribute(bench, rotation, recorder)
    dead = DeviceClient(Profile("dead", "127.0.0.1:9", fingerprint=provisioned.fingerprint))
    with pytest.raises(run.RotationStopped, match="may or may not"):
        run.apply(rotation, recorder, dead, admin=bench.admin)
    assert rotation.step is Step.CHANGING
    assert recover.pending(bench.journal, DEVICE_ID)[0].next is recover.NextStep.ASK_DEVICE
    # Back online: the console asks the device with the new passphrase it still holds.
    assert run.settle(rotation, recorder, bench.client, admin=bench.admin) is Step.DISTRIBUTED
    assert recover.pending(bench.journal, DEVICE_ID)[0].next is recover.NextStep.DISCARD
    run.apply(rotation, recorder, bench.client, admin=bench.admin)  # retry: goes through
    assert rotation.step is Step.DONE
    assert recover.pending(bench.journal, DEVICE_ID) == []


def test_device_refusal_keeps_the_old_set(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    rotation, recorder = start(bench, SecretKind.BACKUP)
    old = Secret(rotation.old_secret.reveal())
    run.generate(rotation, recorder)
    distribute(bench, rotation, recorder)
    # The device changed behind the console's back (someone set another backup passphrase):
    other = Secret("someone-else-set-this")
    bench.client.set_backup_passphrase(bench.admin, other, current=old)
    with pytest.raises(run.RotationStopped, match="Nothing changed"):
        run.apply(rotation, recorder, bench.client, admin=bench.admin)
    assert rotation.step is Step.DISTRIBUTED
    assert recover.pending(bench.journal, DEVICE_ID)[0].next is recover.NextStep.DISCARD
    run.abandon(rotation, recorder, "the device refused the change")
    assert recover.pending(bench.journal, DEVICE_ID) == []


def test_locked_device_is_asked_by_unlocking(provisioned: EmbeddedEmulator, tmp_path: Path) -> None:
    bench = make_bench(provisioned, tmp_path)
    rotation, _, _ = run_until_killed(bench, SecretKind.UNLOCK, "device-reached")
    bench.client.lock(bench.admin)  # e.g. the device rebooted meanwhile
    found = recover.pending(bench.journal, DEVICE_ID)[0]
    found = recover.ask_device(
        found,
        collect(SecretKind.UNLOCK, bench.paper[:3]),
        bench.client,
        admin=None,
        journal=bench.journal,
        device_id=DEVICE_ID,
    )
    assert found.valid == rotation.plan.target
    assert bench.client.state() is DeviceState.OPERATIONAL
    assert SetRef(rotation.plan.old.set_id, 2) == rotation.plan.target
