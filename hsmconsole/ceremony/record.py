"""What the ceremony console writes: journal events, sealed envelopes, the report; never a secret."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan, DeviceIdentity, Phase, TurnState
from hsmconsole.ceremony.report import render_report, write_report
from hsmconsole.ceremony.run import (
    Probe,
    ProvisioningStopped,
    StepResult,
    presented_fingerprint,
    run_provisioning,
)
from hsmconsole.custody.envelope import (
    DEFAULT_KDF,
    KdfParams,
    SealedPassphrase,
    read_envelope_contents,
    write_envelope,
)
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.errors import InputError, IntegrityError, StateError
from hsmconsole.journal.chain import Journal, JournalEvent, Outcome
from hsmconsole.secrets import Secret

_FILE_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_safe(text: str) -> str:
    """A person's or profile's name as part of a file name."""
    return _FILE_SAFE.sub("-", text).strip("-.") or "x"


def journal_device_id(profile: Profile) -> str:
    """The journal's device id: the profile name, which the journal's format always accepts."""
    return profile.name[:64]


class CeremonyRecorder:
    """Journals each step of a ceremony under one device id. No journal: records nothing."""

    def __init__(self, journal: Journal | None, device_id: str) -> None:
        self.journal = journal
        self.device_id = device_id

    def _add(
        self,
        action: str,
        outcome: Outcome = Outcome.OK,
        *,
        actor: str = "ceremony",
        set_ids: tuple[str, ...] = (),
        prints: tuple[str, ...] = (),
        detail: str = "",
    ) -> None:
        if self.journal is None:
            return
        self.journal.append(
            JournalEvent(
                actor=actor, action=action, outcome=outcome, device_id=self.device_id,
                set_ids=set_ids, share_fingerprints=prints, detail=detail[:300],
            )
        )

    def roster(self, plan: CeremonyPlan) -> None:
        policy = "; ".join(f"{p.kind.value} {p.threshold} of {p.count}" for p in plan.policies)
        users = ", ".join(f"{u.user_id} to {u.holder}" for u in plan.users) or "none"
        witnesses = ", ".join(plan.witnesses) or "none"
        risk = ""
        if plan.risks():
            every = ", ".join(p.kind.value for p in plan.policies if p.threshold == p.count)
            risk = f"; K = N for {every} ({'acknowledged' if plan.risks_accepted else 'NOT acknowledged'})"
        self._add(
            "ceremony.roster",
            detail=f"custodians {', '.join(plan.custodians)}; witnesses {witnesses}; {policy}; "
            f"users {users}{risk}",
        )

    def generated(self, ceremony: Ceremony) -> None:
        self._add(
            "ceremony.generated", set_ids=ceremony.set_ids,
            detail="secrets generated in memory and split into shares",
        )

    def confirmed(self, ceremony: Ceremony, name: str) -> None:
        issued = [i for i in ceremony.issued if i[0] == name]
        turn = next(t for t in ceremony.turns if t.custodian == name)
        tries = turn.failed_confirmations
        self._add(
            "ceremony.confirmed", actor=name,
            set_ids=tuple(dict.fromkeys(i[2] for i in issued)),
            prints=tuple(i[6] for i in issued),
            detail=f"re-typed a random group of each share and passphrase ({tries} wrong attempts before)",
        )

    def sealed(self, ceremony: Ceremony, name: str, file_name: str) -> None:
        issued = [i for i in ceremony.issued if i[0] == name]
        self._add(
            "ceremony.sealed", actor=name, prints=tuple(i[6] for i in issued),
            detail=f"shares sealed to envelope file {file_name}",
        )

    def aborted(self, ceremony: Ceremony | None, where: str) -> None:
        self._add(
            "ceremony.aborted", Outcome.ABORTED,
            set_ids=ceremony.set_ids if ceremony is not None else (),
            detail=f"aborted at {where}; nothing was sent to the device",
        )

    def report(self, path: Path) -> None:
        self._add("ceremony.report", detail=f"report written to {path}")


def envelope_file_name(ceremony: Ceremony, name: str) -> str:
    first = ceremony.set_ids[0] if ceremony.set_ids else "shares"
    return f"{file_safe(name)}-{first}.envelope"


def default_envelope_path(data_dir: Path, ceremony: Ceremony, name: str) -> Path:
    """On the console's own disk: kept for callers that want it; the ceremony suggests removable
    media instead (envelope_suggestion)."""
    return data_dir / "envelopes" / envelope_file_name(ceremony, name)


def envelope_suggestion(ceremony: Ceremony, name: str, media: list[Path]) -> Path | None:
    """Where to offer to seal `name`'s envelope: on the first mounted removable medium, or nowhere
    (the custodian types a path) when none is mounted. Never the console's own disk by default."""
    return media[0] / envelope_file_name(ceremony, name) if media else None


def seal_turn(
    ceremony: Ceremony, name: str, path: Path, passphrase: Secret, *, kdf: KdfParams = DEFAULT_KDF
) -> Path:
    """Seal the shares of `name`'s confirmed turn into an envelope file, check it opens, note it.

    Blocking (Argon2id): run it in a worker thread.
    """
    turn = ceremony.current_turn
    if turn is None or turn.custodian != name or turn.state is not TurnState.CONFIRMED:
        raise StateError(f"{name} has no confirmed shares to seal now.")
    shares = [issued.share for issued in turn.shares]
    # Everything the custodian was shown: their shares and the user passphrases given to them.
    sealed = [
        SealedPassphrase(f"user {u.user_id} ({u.role.value})", u.passphrase)
        for u in turn.user_passphrases
    ]
    if not shares and not sealed:
        raise StateError(f"{name} holds nothing to seal.")
    try:
        write_envelope(path, shares, passphrase, kdf=kdf, passphrases=sealed)
    except FileExistsError:
        raise InputError(
            f"{path} already exists.", "Choose another file name; an envelope is never overwritten."
        ) from None
    except OSError as exc:
        raise InputError(
            f"Cannot write {path}: {exc.strerror}.", "Check the folder and the medium."
        ) from None
    back = read_envelope_contents(path, passphrase)
    try:
        same = [s.fingerprint for s in back.shares] == [s.fingerprint for s in shares] and [
            (b.name, b.passphrase) for b in back.passphrases
        ] == [(s.name, s.passphrase) for s in sealed]
        if not same:
            raise IntegrityError(f"The envelope {path.name} does not read back as written.")
    finally:
        for share in back.shares:
            share.payload.wipe()
        for item in back.passphrases:
            item.passphrase.wipe()
    ceremony.note_sealed(name, path.name)
    return path


@dataclass(frozen=True)
class ProvisioningOutcome:
    """How provisioning ended: every step done, or where it stopped; and where the records are."""

    steps: tuple[StepResult, ...]
    report_path: Path
    journal_path: Path | None
    stopped: ProvisioningStopped | None = None
    identity: DeviceIdentity | None = None
    certificate: str = ""  # SHA-256 presented after provisioning, when that step was reached

    @property
    def ok(self) -> bool:
        return self.stopped is None


def report_path_for(data_dir: Path, profile: Profile, moment: datetime) -> Path:
    stamp = moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return data_dir / "ceremonies" / f"ceremony-{stamp}-{file_safe(profile.name)}.md"


def provision_and_report(
    ceremony: Ceremony,
    client: DeviceClient,
    profile: Profile,
    *,
    data_dir: Path,
    journal: Journal | None,
    progress: Callable[[int, int, str], None],
    probe: Probe = presented_fingerprint,
) -> ProvisioningOutcome:
    """Run the provisioning and write the report, whether it finished or stopped midway.

    A refusal before the first device step (wrong state, not READY, device unreachable) raises
    as it is: the device is untouched and the ceremony still holds its secrets to try again.
    Blocking: run it in a worker thread.
    """
    recorder = CeremonyRecorder(journal, journal_device_id(profile))
    stopped: ProvisioningStopped | None = None
    steps: tuple[StepResult, ...] = ()
    try:
        steps = tuple(
            run_provisioning(
                ceremony, client, journal=journal, device_id=recorder.device_id, progress=progress,
                probe=probe,
            )
        )
    except ProvisioningStopped as exc:
        stopped = exc
    if ceremony.phase not in (Phase.DONE, Phase.FAILED):
        raise StateError("Provisioning did not start.")  # run_provisioning raised before step 1
    ceremony.finished_at = ceremony.finished_at or datetime.now(UTC)
    text = render_report(
        ceremony,
        device_host=profile.host,
        device_fingerprint=profile.fingerprint or "not pinned",
        profile_name=profile.name,
    )
    path = report_path_for(data_dir, profile, ceremony.started_at or ceremony.finished_at)
    base, n = path.stem, 1
    while path.exists():
        n += 1
        path = path.with_name(f"{base}.{n}.md")
    write_report(path, text)
    recorder.report(path)
    return ProvisioningOutcome(
        steps, path, journal.path if journal else None, stopped, ceremony.identity, ceremony.certificate
    )
