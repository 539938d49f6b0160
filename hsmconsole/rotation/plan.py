"""Rotation of one device passphrase as a pure state machine: plan, new secret, hand-out, device steps."""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.custody.sharecode import GROUP_LEN
from hsmconsole.custody.shares import SecretKind, SetRef, Share, ShareSet, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.errors import InputError, IntegrityError, StateError
from hsmconsole.secrets import Secret

ROTATABLE = (SecretKind.UNLOCK, SecretKind.ADMIN, SecretKind.BACKUP)
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z .'-]{0,39}$")
MAX_GENERATION = 0xFFFF


class Step(enum.Enum):
    """How far a rotation got. The order matters: the device is touched from CHANGING on."""

    PLANNED = 1  # roster and K-of-N accepted; the old secret checked against the device
    GENERATED = 2  # new secret and its shares exist in memory only
    DISTRIBUTED = 3  # every new custodian confirmed their share; the device still has the old one
    CHANGING = 4  # the change was sent; until the answer, either secret may be current
    CHANGED = 5  # the device acknowledged the new secret
    VERIFIED = 6  # the new secret was checked against the device
    DONE = 7  # the old set is void (journaled)
    DISCARDED = 8  # stopped before the device took the new secret: the new shares are void

    @property
    def device_may_have_new(self) -> bool:
        return self in (Step.CHANGING, Step.CHANGED, Step.VERIFIED, Step.DONE)


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not _NAME_RE.match(cleaned):
        raise InputError(
            f"'{cleaned[:40]}' is not a usable custodian name.",
            "Use 1-40 letters, spaces, dots, apostrophes or hyphens, starting with a letter.",
        )
    return cleaned


@dataclass(frozen=True)
class RotationPlan:
    """Everything decided before a new secret exists. Public: it is journaled."""

    kind: SecretKind
    old: SetRef
    holders: tuple[str, ...]
    threshold: int
    generation: int  # the new generation (same set id): old shares can never mix with new ones

    @property
    def target(self) -> SetRef:
        return SetRef(self.old.set_id, self.generation)

    @property
    def count(self) -> int:
        return len(self.holders)

    def describe(self) -> str:
        return (
            f"{self.kind.value} passphrase, set {self.old.set_id}: generation {self.old.generation} "
            f"to {self.generation}, {self.threshold} of {self.count} ({', '.join(self.holders)})"
        )


def make_plan(
    kind: SecretKind,
    old: ShareSet | SetRef,
    holders: Sequence[str],
    threshold: int,
    *,
    used_generations: Sequence[int] = (),
) -> RotationPlan:
    """Check a requested rotation and fix its new generation; InputError before anything exists.

    `used_generations` are the generations of this set already handed out (from the journal,
    including discarded ones): a new generation is never one that shares were ever issued for.
    """
    if kind not in ROTATABLE:
        raise InputError(
            f"the {kind.value} secret is not a device passphrase", "Rotate unlock, admin or backup."
        )
    ref = old.ref if isinstance(old, ShareSet) else old
    if isinstance(old, ShareSet) and old.kind is not kind:
        raise InputError(
            f"the quorum is of the {old.secret_name}, not the {kind.value} passphrase",
            f"Bring shares of the current {kind.value} passphrase set.",
        )
    names = tuple(clean_name(h) for h in holders)
    folded = [n.casefold() for n in names]
    repeated = sorted({n for n in names if folded.count(n.casefold()) > 1})
    if repeated:
        raise InputError(
            f"{', '.join(repeated)} is listed more than once.",
            "Each custodian holds one share: list every person once.",
        )
    if len(names) < 2:
        raise InputError("A set needs at least two custodians.", "Add custodians to the roster.")
    if threshold < 2:
        raise InputError(
            f"A threshold of {threshold} lets one custodian alone rebuild the passphrase.",
            "Choose K of at least 2.",
        )
    if threshold > len(names):
        raise InputError(
            f"{threshold} of {len(names)} cannot be met: there are only {len(names)} custodians.",
            "Choose K no larger than the number of custodians.",
        )
    generation = max((ref.generation, *used_generations)) + 1
    if generation > MAX_GENERATION:
        raise InputError(f"set {ref.set_id} has used every generation", "Start a new set with a ceremony.")
    plan = RotationPlan(kind, ref, names, threshold, generation)
    if plan.target == ref:  # guarded by construction; a plan must never re-issue the old set
        raise InputError("The target set is the old set.", "A rotation always makes a new generation.")
    return plan


@dataclass(frozen=True)
class Ask:
    """One group to re-type from paper (same fields as the ceremony's ChallengePart)."""

    page: int
    what: str
    line: int
    column: int
    length: int = GROUP_LEN


@dataclass
class HandOut:
    """One new custodian's share during distribution."""

    custodian: str
    share: Share
    text: Secret = field(repr=False)
    fingerprint: str = ""  # Share.fingerprint, kept after the share is wiped (for the journal)
    confirmed: bool = False  # re-typed correctly and the screen cleared: turn over
    passed: bool = False  # re-typed correctly
    failed_confirmations: int = 0
    ask: Ask | None = None


class Rotation:
    """Drives one rotation. No I/O: `rotation/run.py` journals each step and talks to the device.

    The old secret is held (it is the 'current' passphrase the device change needs) and the new
    one is generated here; both are wiped by `wipe()` at the end, whatever happened.
    """

    def __init__(
        self, plan: RotationPlan, old_secret: Secret, *, rng: Callable[[int], int] = secrets.randbelow
    ) -> None:
        self.plan = plan
        self.old_secret = old_secret
        self.new_secret: Secret | None = None
        self.step = Step.PLANNED
        self.handouts: list[HandOut] = []
        self.fingerprints: tuple[str, ...] = ()
        self._varying: list[tuple[int, int]] = []
        self._rng = rng

    # --- generation ----------------------------------------------------------------------------
    def generate(self) -> None:
        """A new passphrase (never the old one: re-splitting would let old shares rebuild it),
        split K-of-N into the new generation of the same set, one share per custodian."""
        self._require(Step.PLANNED, "generate the new secret")
        plan = self.plan
        secret = generate_passphrase(label=f"new {plan.kind.value} passphrase")
        if secret == self.old_secret:  # 2^-256; checked because the promise is absolute
            secret.wipe()
            raise IntegrityError("the new passphrase equals the old one", "Start again.")
        shares = split_secret(
            secret,
            threshold=plan.threshold,
            count=plan.count,
            kind=plan.kind,
            set_id=plan.old.set_id,
            generation=plan.generation,
        )
        texts = [encode_share(s) for s in shares]
        layouts = [[line.split() for line in t.reveal_str().splitlines() if line.strip()] for t in texts]
        # Header groups are equal in every share of a set: asking for them proves nothing.
        self._varying = [
            (r, c)
            for r, row in enumerate(layouts[0])
            for c in range(len(row))
            if len({rows[r][c] for rows in layouts}) > 1
        ]
        del layouts
        self.new_secret = secret
        self.handouts = [
            HandOut(n, s, t, s.fingerprint) for n, s, t in zip(plan.holders, shares, texts, strict=True)
        ]
        self.fingerprints = tuple(s.fingerprint for s in shares)
        self.step = Step.GENERATED

    # --- distribution (one custodian at a time, in roster order) --------------------------------
    @property
    def current(self) -> HandOut | None:
        return next((h for h in self.handouts if not h.confirmed), None)

    def _handout(self, name: str) -> HandOut:
        h = self.current
        if self.step is not Step.GENERATED or h is None or h.custodian != name:
            raise StateError(f"It is not {name}'s turn.")
        return h

    def challenge(self, name: str) -> Ask:
        h = self._handout(name)
        r, c = self._varying[self._rng(len(self._varying))]
        h.ask = Ask(0, f"{self.plan.kind.value.upper()} share", r + 1, c + 1)
        return h.ask

    def confirm(self, name: str, typed: Sequence[str]) -> tuple[bool, ...]:
        h = self._handout(name)
        if h.ask is None or len(typed) != 1:
            raise StateError("Ask for one group first.")
        rows = [line.split() for line in h.text.reveal_str().splitlines() if line.strip()]
        expected = rows[h.ask.line - 1][h.ask.column - 1].upper().encode()
        del rows
        given = "".join(c for c in typed[0].upper() if c.isalnum()).encode()
        ok = hmac.compare_digest(expected, given)
        if ok:
            h.passed = True
        else:
            h.failed_confirmations += 1
        return (ok,)

    def finish_turn(self, name: str) -> None:
        """The custodian confirmed and the screen was cleared: drop their share from memory."""
        h = self._handout(name)
        if not h.passed:
            raise StateError(f"{name} has not confirmed their share yet.")
        h.text.wipe()
        h.share.payload.wipe()
        h.confirmed = True
        if self.current is None:
            self.step = Step.DISTRIBUTED

    # --- device steps (called by run.py around the requests) -----------------------------------
    def begin_change(self) -> tuple[Secret, Secret]:
        """DISTRIBUTED -> CHANGING; returns (old, new) for the one request that changes the device."""
        self._require(Step.DISTRIBUTED, "change the device")
        assert self.new_secret is not None
        self.step = Step.CHANGING
        return self.old_secret, self.new_secret

    def change_refused(self) -> None:
        """The device said no (403/400/412): nothing changed, the old set stays valid."""
        self._require(Step.CHANGING, "take back the change")
        self.step = Step.DISTRIBUTED

    def changed(self) -> None:
        self._require(Step.CHANGING, "record the change")
        self.step = Step.CHANGED

    def verified(self) -> None:
        self._require(Step.CHANGED, "record the check")
        self.step = Step.VERIFIED

    def voided(self) -> None:
        self._require(Step.VERIFIED, "void the old set")
        self.step = Step.DONE
        self.wipe()

    def discard(self) -> None:
        """Stop before the device could have the new secret; the new shares become void."""
        if self.step.device_may_have_new:
            raise StateError(
                "The device may already have the new passphrase: it cannot simply be discarded.",
                "Finish the rotation, or let recovery ask the device which passphrase is current.",
            )
        self.step = Step.DISCARDED
        self.wipe()

    def wipe(self) -> None:
        for h in self.handouts:
            h.text.wipe()
            h.share.payload.wipe()
        self.old_secret.wipe()
        if self.new_secret is not None:
            self.new_secret.wipe()

    def _require(self, step: Step, what: str) -> None:
        if self.step is not step:
            raise StateError(f"Cannot {what}: the rotation is {self.step.name.lower()}.")


__all__ = ["ROTATABLE", "Ask", "HandOut", "Rotation", "RotationPlan", "Step", "clean_name", "make_plan"]
