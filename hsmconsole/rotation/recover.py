"""After an interruption: which set opens the device (asking it if the journal cannot tell), what to do."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.device import passphrases as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.passphrases import CheckResult
from hsmconsole.errors import InputError, IntegrityError, StateError
from hsmconsole.journal.chain import Journal, Outcome
from hsmconsole.models import DeviceState
from hsmconsole.rotation.plan import RotationPlan, Step
from hsmconsole.rotation.record import RotationRecord, RotationRecorder, read_rotations, unfinished
from hsmconsole.rotation.run import check_secret


class NextStep(enum.Enum):
    DISCARD = "discard"  # the device has the old secret: the new shares are to be destroyed
    ASK_DEVICE = "ask"  # the journal cannot tell: bring a quorum of either set
    FINISH = "finish"  # the device has the new secret: verify it, then void the old set


@dataclass(frozen=True)
class Assessment:
    """What the journal (and, when asked, the device) says about one unfinished rotation."""

    record: RotationRecord
    valid: SetRef | None  # the set that opens the device; None until the device was asked
    next: NextStep

    @property
    def message(self) -> str:
        r = self.record
        what = f"the {r.kind.value} passphrase"
        old = f"set {r.set_id} generation {r.old_generation}"
        new = f"generation {r.new_generation}"
        if self.next is NextStep.DISCARD:
            return (
                f"A rotation of {what} stopped before the device took the new one. {old} is "
                f"valid and opens the device. Discard the new shares ({new}): their holders destroy "
                "them; the journal marks them void."
            )
        if self.next is NextStep.ASK_DEVICE:
            return (
                f"A rotation of {what} stopped while the change was being sent: the device has "
                f"either {old} or {new}, never neither. Bring a quorum of either set; the console asks "
                "the device which one it takes (nothing is changed by asking)."
            )
        return (
            f"A rotation of {what} reached the device: {new} is valid and opens it. Finish: "
            f"bring a quorum of the new shares to check them against the device; then {old} is void."
        )


def plan_of(record: RotationRecord) -> RotationPlan:
    """The journaled rotation's plan again (for its recorder)."""
    return RotationPlan(record.kind, record.old, record.holders, record.threshold, record.new_generation)


def assess(record: RotationRecord) -> Assessment:
    if record.finished:
        raise StateError("That rotation has finished.")
    if record.step in (Step.PLANNED, Step.GENERATED, Step.DISTRIBUTED):
        # The device is changed only after DISTRIBUTED was journaled and 'changing' written before
        # the request: without 'changing' nothing was sent.
        return Assessment(record, record.old, NextStep.DISCARD)
    if record.step is Step.CHANGING:
        return Assessment(record, None, NextStep.ASK_DEVICE)
    return Assessment(record, record.new, NextStep.FINISH)


def pending(journal: Journal, device_id: str) -> list[Assessment]:
    """Every unfinished rotation of this device, assessed from the journal alone."""
    return [assess(r) for r in unfinished(read_rotations(journal, device_id))]


def ask_device(
    assessment: Assessment,
    collector: ShareCollector,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    journal: Journal | None,
    device_id: str,
    admin_user: str = "admin",
) -> Assessment:
    """Rebuild the secret of whichever set the quorum is of (old or new) and ask the device whether
    it is current. Only the device's answer moves the assessment; the secret is wiped either way.

    The check changes nothing that matters (see device/passphrases.py). A Locked device can only
    be asked about its unlock passphrase, by unlocking: a right candidate unlocks it."""
    rec = assessment.record
    meta = collector.set
    if meta is None or meta.ref not in (rec.old, rec.new) or meta.kind is not rec.kind:
        collector.wipe()
        raise InputError(
            "These shares are of neither set of this rotation.",
            f"Bring shares of set {rec.set_id} generation {rec.old_generation} or {rec.new_generation}.",
        )
    is_new = meta.ref == rec.new
    candidate = collector.combine()
    try:
        state = client.state()
        if state is DeviceState.LOCKED:
            if rec.kind is not SecretKind.UNLOCK:
                raise StateError(
                    "The device is Locked.",
                    "Unlock it first with the unlock set (this rotation did not change it).",
                )
            result = dev.check_unlock_locked(client, candidate)
        else:
            result = check_secret(rec.kind, client, candidate, admin, admin_user=admin_user)
    finally:
        candidate.wipe()
    recorder = RotationRecorder(journal, device_id, plan_of(rec))
    new_current = (result is CheckResult.CURRENT) == is_new
    asked = "new" if is_new else "old"
    if new_current:
        recorder.add("rotation.found-new", note=f"asked with the {asked} set: the new passphrase is current")
        return Assessment(rec, rec.new, NextStep.FINISH)
    recorder.add("rotation.found-old", note=f"asked with the {asked} set: the old passphrase is current")
    return Assessment(rec, rec.old, NextStep.DISCARD)


def discard(assessment: Assessment, *, journal: Journal | None, device_id: str) -> None:
    """Void the new shares of a rotation the device never took."""
    if assessment.next is not NextStep.DISCARD:
        raise StateError(
            "The new set may open the device: it must not be discarded.",
            "Ask the device first, or finish the rotation.",
        )
    RotationRecorder(journal, device_id, plan_of(assessment.record)).add(
        "rotation.discarded",
        Outcome.OK,
        note=f"generation {assessment.record.new_generation} void; the device keeps the old set",
    )


def finish(
    assessment: Assessment,
    collector: ShareCollector,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    journal: Journal | None,
    device_id: str,
    admin_user: str = "admin",
) -> None:
    """Check a quorum of the new shares against the device, then void the old set."""
    rec = assessment.record
    if assessment.next is not NextStep.FINISH:
        raise StateError("The device was not shown to have the new passphrase.", "Ask the device first.")
    meta = collector.set
    if meta is None or meta.ref != rec.new:
        collector.wipe()
        raise InputError(
            f"Finishing needs shares of set {rec.set_id} generation {rec.new_generation}.",
            "Bring a quorum of the new shares.",
        )
    secret = collector.combine()
    try:
        result = check_secret(
            rec.kind, client, secret, None if rec.kind is SecretKind.ADMIN else admin, admin_user=admin_user
        )
    finally:
        secret.wipe()
    if result is not CheckResult.CURRENT:
        raise IntegrityError(
            "The device does not accept the new passphrase.",
            "Nothing was voided. Keep both sets and ask the device again with the old shares.",
        )
    recorder = RotationRecorder(journal, device_id, plan_of(rec))
    recorder.add("rotation.verified", note="recovery: the new passphrase opens the device")
    recorder.add(
        "rotation.void", note=f"generation {rec.old_generation} void; generation {rec.new_generation} current"
    )


__all__ = ["Assessment", "NextStep", "ask_device", "assess", "discard", "finish", "pending", "plan_of"]
