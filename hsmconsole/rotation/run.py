"""Carries out a rotation: checks the old quorum, journals each step, changes and verifies the device."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from hsmconsole.custody.envelope import DEFAULT_KDF, KdfParams, read_envelope, write_envelope
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device import passphrases as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.passphrases import CheckResult
from hsmconsole.errors import (
    ConnectionFailed,
    HsmConsoleError,
    InputError,
    IntegrityError,
    StateError,
)
from hsmconsole.journal.chain import Journal, Outcome
from hsmconsole.rotation.plan import Rotation, Step, make_plan
from hsmconsole.rotation.record import (
    RotationRecorder,
    read_rotations,
    unfinished,
    used_generations,
    void_reason,
)
from hsmconsole.secrets import Secret

Progress = Callable[[int, int, str], None]
DEVICE_STEPS = (
    "Change the passphrase on the device",
    "Check the new passphrase against the device",
    "Mark the old set void in the journal",
)


class RotationStopped(HsmConsoleError):
    """The device step stopped; `valid` says which set opens the device now, in words."""

    def __init__(self, cause: HsmConsoleError, valid: str) -> None:
        super().__init__(f"Rotation stopped: {cause.title}", f"{valid} {cause.hint}".strip(), kind=cause.kind)
        self.cause = cause
        self.valid = valid


def check_secret(
    kind: SecretKind,
    client: DeviceClient,
    candidate: Secret,
    admin: Credentials | None,
    *,
    admin_user: str = "admin",
) -> CheckResult:
    """Ask the device whether `candidate` is its current `kind` passphrase, changing nothing that
    matters (see hsmconsole/device/passphrases.py for what each check sends)."""
    if kind is SecretKind.ADMIN:
        return dev.check_admin(client, admin_user, candidate)
    if admin is None:
        raise StateError(
            f"Checking the {kind.value} passphrase needs an admin session.",
            "Open a quorum admin session first.",
        )
    if kind is SecretKind.UNLOCK:
        return dev.check_unlock(client, admin, candidate)
    return dev.check_backup(client, admin, candidate)


def start_rotation(
    kind: SecretKind,
    collector: ShareCollector,
    holders: Sequence[str],
    threshold: int,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    journal: Journal | None,
    device_id: str,
    admin_user: str = "admin",
) -> tuple[Rotation, RotationRecorder]:
    """Refuse every bad input before a new secret exists: an unfinished rotation of this secret,
    a void or mixed or wrong quorum, a bad roster or K-of-N; then check the old secret against the
    device (a wrong quorum is refused here, not after the shares were handed out)."""
    meta = collector.set
    if meta is None or not collector.progress().complete:
        collector.wipe()
        raise InputError(
            "The quorum of current shares is not complete.", "Every custodian of it enters a share."
        )
    records = read_rotations(journal, device_id) if journal is not None else []
    open_ = [r for r in unfinished(records) if r.kind is kind]
    why_void = void_reason(records, meta.ref)
    try:
        if open_:
            raise StateError(
                f"An earlier rotation of the {kind.value} passphrase did not finish "
                f"(generation {open_[0].new_generation}).",
                "Resolve it first: the console asks the device which set is current.",
            )
        if why_void:
            raise InputError(
                f"These shares are not current: {why_void}.", "Use the current generation's shares."
            )
        plan = make_plan(
            kind, meta, holders, threshold, used_generations=used_generations(records, meta.set_id)
        )
    except HsmConsoleError:
        collector.wipe()
        raise
    prints = tuple(s.fingerprint for s in collector.shares)
    old = collector.combine()  # refuses a mixed, altered or short quorum; wipes the shares
    recorder = RotationRecorder(journal, device_id, plan)
    try:
        if check_secret(kind, client, old, admin, admin_user=admin_user) is not CheckResult.CURRENT:
            raise InputError(
                f"The device does not accept the passphrase these shares rebuild as its current "
                f"{kind.value} passphrase.",
                "Nothing was generated. Bring shares of the set the device uses now.",
            )
    except HsmConsoleError as exc:
        old.wipe()
        recorder.add("rotation.refused", Outcome.REFUSED, prints=prints, note=exc.title[:120])
        raise
    recorder.add("rotation.planned", prints=prints, roster=True, note="old quorum checked against the device")
    return Rotation(plan, old), recorder


def generate(rotation: Rotation, recorder: RotationRecorder) -> None:
    rotation.generate()
    recorder.add(
        "rotation.split", prints=rotation.fingerprints, note="new passphrase generated and split in memory"
    )


def turn_done(rotation: Rotation, recorder: RotationRecorder, name: str) -> None:
    """Journal one custodian's confirmation and drop their share; journals 'distributed' after the last."""
    handout = next(h for h in rotation.handouts if h.custodian == name)
    tries = handout.failed_confirmations
    rotation.finish_turn(name)
    recorder.add(
        "rotation.confirmed",
        actor=name,
        prints=(handout.fingerprint,),
        note=f"re-typed a random group ({tries} wrong attempts before)",
    )
    if rotation.step is Step.DISTRIBUTED:
        recorder.add(
            "rotation.distributed", note="every new custodian confirmed; the device still has the old one"
        )


def seal_handout(
    rotation: Rotation,
    recorder: RotationRecorder,
    name: str,
    path: Path,
    passphrase: Secret,
    *,
    kdf: KdfParams = DEFAULT_KDF,
) -> Path:
    """Seal `name`'s confirmed new share into an envelope file (optional, as in the ceremony),
    check it opens, journal the file name. Blocking (Argon2id): run it in a worker thread."""
    handout = rotation.current
    if handout is None or handout.custodian != name or not handout.passed:
        raise StateError(f"{name} has no confirmed share to seal now.")
    try:
        write_envelope(path, [handout.share], passphrase, kdf=kdf)
    except FileExistsError:
        raise InputError(
            f"{path} already exists.", "Choose another file name; an envelope is never overwritten."
        ) from None
    except OSError as exc:
        raise InputError(
            f"Cannot write {path}: {exc.strerror}.", "Check the folder and the medium."
        ) from None
    back = read_envelope(path, passphrase)
    try:
        if [s.fingerprint for s in back] != [handout.fingerprint]:
            raise IntegrityError(f"The envelope {path.name} does not read back as written.")
    finally:
        for share in back:
            share.payload.wipe()
    recorder.add(
        "rotation.sealed",
        actor=name,
        prints=(handout.fingerprint,),
        note=f"sealed to envelope file {path.name}",
    )
    return path


def abandon(rotation: Rotation, recorder: RotationRecorder, where: str) -> None:
    """A person stopped before the device was changed: the new shares are void, the old set valid."""
    rotation.discard()
    recorder.add("rotation.discarded", Outcome.ABORTED, note=f"stopped at {where}; the old set stays valid")


def apply(
    rotation: Rotation,
    recorder: RotationRecorder,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    admin_user: str = "admin",
    progress: Progress = lambda done, total, label: None,
) -> None:
    """Change the device, check the new passphrase, void the old set. The secrets are wiped at
    the end unless the outcome of the change is unknown (then `settle` may still ask the device)."""
    kind = rotation.plan.kind
    total = len(DEVICE_STEPS)
    if kind is not SecretKind.ADMIN and admin is None:
        raise StateError(f"Changing the {kind.value} passphrase needs an admin session.", "Nothing was sent.")
    progress(0, total, DEVICE_STEPS[0])
    old, new = rotation.begin_change()
    recorder.add("rotation.changing", note="sending the change; until the answer either set may be current")
    try:
        if kind is SecretKind.UNLOCK:
            assert admin is not None
            dev.change_unlock(client, admin, new, old)
        elif kind is SecretKind.BACKUP:
            assert admin is not None
            dev.change_backup(client, admin, new, old)
        else:
            dev.change_admin(client, Credentials(admin_user, old), new)
    except ConnectionFailed as exc:
        recorder.add("rotation.change-unknown", Outcome.FAILED, note=exc.title[:160])
        raise RotationStopped(
            exc,
            f"The device may or may not have the new {kind.value} passphrase: check it now "
            "(the console asks the device), or bring the old or new shares at the next start.",
        ) from None
    except HsmConsoleError as exc:
        rotation.change_refused()
        recorder.add("rotation.change-refused", Outcome.REFUSED, note=exc.title[:160])
        raise RotationStopped(
            exc,
            f"Nothing changed: the old set {rotation.plan.old.set_id} generation "
            f"{rotation.plan.old.generation} still opens the device. Retry, or discard the new shares.",
        ) from None
    rotation.changed()
    recorder.add("rotation.changed", note="the device acknowledged the new passphrase")
    finish(rotation, recorder, client, admin=admin, admin_user=admin_user, progress=progress)


def settle(
    rotation: Rotation,
    recorder: RotationRecorder,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    admin_user: str = "admin",
) -> Step:
    """After a change whose answer was lost: ask the device with the new passphrase (still in
    memory) and continue from what it says. Returns the step reached."""
    if rotation.step is not Step.CHANGING:
        return rotation.step
    assert rotation.new_secret is not None
    creds = admin
    if rotation.plan.kind is SecretKind.ADMIN:
        creds = None
    result = check_secret(rotation.plan.kind, client, rotation.new_secret, creds, admin_user=admin_user)
    if result is CheckResult.CURRENT:
        rotation.changed()
        recorder.add("rotation.found-new", note="the device answered to the new passphrase")
        finish(rotation, recorder, client, admin=admin, admin_user=admin_user)
    else:
        rotation.change_refused()
        recorder.add(
            "rotation.found-old", note="the device refused the new passphrase: the old one is current"
        )
    return rotation.step


def finish(
    rotation: Rotation,
    recorder: RotationRecorder,
    client: DeviceClient,
    *,
    admin: Credentials | None,
    admin_user: str = "admin",
    progress: Progress = lambda done, total, label: None,
) -> None:
    """CHANGED -> verified against the device -> old set void; wipes both secrets."""
    kind = rotation.plan.kind
    assert rotation.new_secret is not None
    progress(1, len(DEVICE_STEPS), DEVICE_STEPS[1])
    if kind is SecretKind.ADMIN:
        admin = None
    result = check_secret(kind, client, rotation.new_secret, admin, admin_user=admin_user)
    if result is not CheckResult.CURRENT:
        raise IntegrityError(
            f"The device acknowledged the new {kind.value} passphrase but does not accept it now.",
            "Do not discard any shares. Check the device and the journal, then run recovery.",
        )
    rotation.verified()
    recorder.add("rotation.verified", note="the new passphrase opens the device")
    progress(2, len(DEVICE_STEPS), DEVICE_STEPS[2])
    plan = rotation.plan
    recorder.add(
        "rotation.void",
        note=f"generation {plan.old.generation} void; generation {plan.generation} current",
    )
    rotation.voided()
    progress(3, len(DEVICE_STEPS), "Done")


__all__ = [
    "DEVICE_STEPS",
    "RotationStopped",
    "abandon",
    "apply",
    "check_secret",
    "finish",
    "generate",
    "seal_handout",
    "settle",
    "start_rotation",
    "turn_done",
]
