"""Rotation in the journal: what each step writes, and reading it back (which sets are valid, which void)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from hsmconsole.custody.shares import SecretKind, SetRef
from hsmconsole.errors import HsmConsoleError
from hsmconsole.journal.chain import Journal, JournalEntry, JournalEvent, Outcome
from hsmconsole.rotation.plan import RotationPlan, Step

# Every rotation entry starts with these fields so each one names its rotation on its own.
_HEAD_RE = re.compile(
    r"kind=(unlock|admin|backup); set=([A-Z0-9]{8}); from=(\d+); to=(\d+)"
    r"(?:; k=(\d+); n=(\d+); holders=([^;]*))?"
)
# Journal action -> the step it proves was reached.
STEP_OF = {
    "rotation.planned": Step.PLANNED,
    "rotation.split": Step.GENERATED,
    "rotation.distributed": Step.DISTRIBUTED,
    "rotation.changing": Step.CHANGING,
    "rotation.change-refused": Step.DISTRIBUTED,  # the device said no: it kept the old secret
    "rotation.change-unknown": Step.CHANGING,  # no answer: either may be current
    "rotation.changed": Step.CHANGED,
    "rotation.found-old": Step.DISTRIBUTED,  # recovery asked the device: old is current
    "rotation.found-new": Step.CHANGED,  # recovery asked the device: new is current
    "rotation.verified": Step.VERIFIED,
    "rotation.void": Step.DONE,
    "rotation.discarded": Step.DISCARDED,
}


@dataclass(frozen=True)
class RotationRecord:
    """One rotation as the journal tells it (public facts only)."""

    kind: SecretKind
    set_id: str
    old_generation: int
    new_generation: int
    step: Step
    threshold: int = 0
    count: int = 0
    holders: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()  # custodians who confirmed their new share
    started: str = ""  # journal timestamps (UTC, RFC 3339)
    last: str = ""

    @property
    def old(self) -> SetRef:
        return SetRef(self.set_id, self.old_generation)

    @property
    def new(self) -> SetRef:
        return SetRef(self.set_id, self.new_generation)

    @property
    def finished(self) -> bool:
        return self.step in (Step.DONE, Step.DISCARDED)


def head(plan: RotationPlan) -> str:
    return f"kind={plan.kind.value}; set={plan.old.set_id}; from={plan.old.generation}; to={plan.generation}"


class RotationRecorder:
    """Appends the rotation's steps to the journal under one device id (no journal: nothing)."""

    def __init__(self, journal: Journal | None, device_id: str, plan: RotationPlan) -> None:
        self.journal = journal
        self.device_id = device_id
        self.plan = plan

    def add(
        self,
        action: str,
        outcome: Outcome = Outcome.OK,
        *,
        actor: str = "rotation",
        prints: tuple[str, ...] = (),
        note: str = "",
        roster: bool = False,
    ) -> None:
        if self.journal is None:
            return
        detail = head(self.plan)
        if roster:
            detail += (
                f"; k={self.plan.threshold}; n={self.plan.count}; holders={', '.join(self.plan.holders)}"
            )
        if note:
            detail += f"; {note}"
        self.journal.append(
            JournalEvent(
                actor=actor[:64],
                action=action,
                outcome=outcome,
                device_id=self.device_id,
                set_ids=(self.plan.old.set_id,),
                share_fingerprints=prints,
                detail=detail[:300],
            )
        )


def read_rotations(journal: Journal, device_id: str) -> list[RotationRecord]:
    """Every rotation journaled for `device_id`, oldest first, with the furthest step reached."""
    return rotations_in(journal.entries(), device_id)


def rotations_in(entries: list[JournalEntry], device_id: str) -> list[RotationRecord]:
    found: dict[tuple[str, str, int], RotationRecord] = {}
    for entry in entries:
        ev = entry.event
        if ev.device_id != device_id or not ev.action.startswith("rotation."):
            continue
        m = _HEAD_RE.match(ev.detail)
        if m is None:
            continue
        key = (m.group(1), m.group(2), int(m.group(4)))
        rec = found.get(key)
        if rec is None and ev.action != "rotation.planned":
            continue  # a refused start: no rotation began
        if rec is None:
            rec = RotationRecord(
                SecretKind(m.group(1)),
                m.group(2),
                int(m.group(3)),
                int(m.group(4)),
                Step.PLANNED,
                started=entry.ts,
            )
        if m.group(5):
            holders = tuple(h.strip() for h in m.group(7).split(",") if h.strip())
            rec = replace(rec, threshold=int(m.group(5)), count=int(m.group(6)), holders=holders)
        if ev.action == "rotation.confirmed" and ev.outcome is Outcome.OK:
            rec = replace(rec, confirmed=(*rec.confirmed, ev.actor))
        step = STEP_OF.get(ev.action)
        if step is not None and ev.outcome in (Outcome.OK, Outcome.REFUSED, Outcome.FAILED, Outcome.ABORTED):
            rec = replace(rec, step=step)
        found[key] = replace(rec, last=entry.ts)
    return list(found.values())


def unfinished(records: list[RotationRecord]) -> list[RotationRecord]:
    return [r for r in records if not r.finished]


def current_generation(records: list[RotationRecord], set_id: str) -> int | None:
    """The generation of `set_id` that is valid after the last finished rotation (None: never rotated)."""
    done = [r.new_generation for r in records if r.set_id == set_id and r.step is Step.DONE]
    return max(done) if done else None


def used_generations(records: list[RotationRecord], set_id: str) -> list[int]:
    """Every generation shares were ever planned for, so that a new one is never reused."""
    return [g for r in records if r.set_id == set_id for g in (r.old_generation, r.new_generation)]


def void_reason(records: list[RotationRecord], ref: SetRef) -> str | None:
    """Why shares of `ref` must not be used any more, or None when the journal knows nothing
    against them. Void: a generation older than the current one, or one whose rotation was
    discarded before the device took it."""
    current = current_generation(records, ref.set_id)
    if current is not None and ref.generation < current:
        return f"set {ref.set_id} generation {ref.generation} is void: it was rotated to generation {current}"
    for r in records:
        if r.set_id == ref.set_id and r.new_generation == ref.generation and r.step is Step.DISCARDED:
            return (
                f"set {ref.set_id} generation {ref.generation} is void: that rotation was discarded "
                "before the device took it"
            )
    return None


def void_check(journal: Journal | None, device_id: str) -> Callable[[SetRef], str | None] | None:
    """For ShareCollector(void=...): the journal's rotations read once, then each share's set is
    judged against them. An unreadable journal voids nothing here (the device still refuses
    a passphrase it does not have); None without a journal."""
    if journal is None or not journal.path.exists():
        return None
    try:
        records = read_rotations(journal, device_id)
    except HsmConsoleError:
        return None
    return lambda ref: void_reason(records, ref)


def last_changed(entries: list[JournalEntry], device_id: str) -> dict[str, datetime]:
    """When each credential was last set, from the journal: 'unlock', 'admin', 'backup' (a
    provisioning ceremony or a finished rotation) and 'tls' (a TLS rotation or the ceremony's pin)."""
    out: dict[str, datetime] = {}
    for entry in entries:
        ev = entry.event
        if ev.device_id != device_id or ev.outcome is not Outcome.OK:
            continue
        when = datetime.fromisoformat(entry.ts.replace("Z", "+00:00"))
        if ev.action == "ceremony.provisioned":
            for what in ("unlock", "admin", "backup", "tls"):
                out[what] = when
        elif ev.action == "rotation.verified":
            m = _HEAD_RE.match(ev.detail)
            if m:
                out[m.group(1)] = when
        elif ev.action == "rotation.tls-pinned":
            out["tls"] = when
    return out


__all__ = [
    "STEP_OF",
    "RotationRecord",
    "RotationRecorder",
    "current_generation",
    "head",
    "last_changed",
    "read_rotations",
    "rotations_in",
    "unfinished",
    "used_generations",
    "void_check",
    "void_reason",
]
