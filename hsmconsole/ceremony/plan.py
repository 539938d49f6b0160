"""The provisioning ceremony as a pure state machine: roster, policy, turns, confirmation; no I/O."""

from __future__ import annotations

import enum
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hsmconsole.alphabet import as_typed
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.custody.sharecode import GROUP_LEN
from hsmconsole.custody.shares import SecretKind, Share, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.errors import InputError, StateError
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z .'-]{0,39}$")
_USER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
DEVICE_SECRETS = (SecretKind.UNLOCK, SecretKind.ADMIN, SecretKind.BACKUP)
# How a user passphrase is laid out on its reveal page and on paper: groups of four, six a line.
PASSPHRASE_GROUP = 4
PASSPHRASE_GROUPS_PER_LINE = 6


def paper_rows(text: Secret, *, passphrase: bool) -> list[list[str]]:
    """A share or passphrase as the custodian copies it: lines of groups (the reveal page's layout).

    The result holds the secret in plain strings: for display and comparison only, never stored.
    """
    raw = text.reveal_str()
    if passphrase:
        groups = [raw[i : i + PASSPHRASE_GROUP] for i in range(0, len(raw), PASSPHRASE_GROUP)]
        step = PASSPHRASE_GROUPS_PER_LINE
        return [groups[i : i + step] for i in range(0, len(groups), step)]
    return [line.split() for line in raw.splitlines() if line.strip()]


def check_person_name(name: str, what: str = "custodian") -> str:
    """A person's name as it appears on screens, in the journal and in the report."""
    cleaned = " ".join(name.split())
    if not _NAME_RE.match(cleaned):
        raise InputError(
            f"'{cleaned[:40]}' is not a usable {what} name.",
            "Use 1-40 letters, spaces, dots, apostrophes or hyphens, starting with a letter.",
        )
    return cleaned


@dataclass(frozen=True)
class SecretPolicy:
    """K of N for one device secret: which custodians hold a share, and how many are needed."""

    kind: SecretKind
    threshold: int
    holders: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.holders)


@dataclass(frozen=True)
class InitialUser:
    """A user created right after provisioning; its generated passphrase is shown to `holder` only."""

    user_id: str
    role: UserRole
    real_name: str
    holder: str


@dataclass(frozen=True)
class CeremonyPlan:
    """Everything decided before any secret exists. Public: it goes into the report verbatim."""

    custodians: tuple[str, ...]
    policies: tuple[SecretPolicy, ...]
    witnesses: tuple[str, ...] = ()
    users: tuple[InitialUser, ...] = ()
    device_label: str = ""
    # The people at the review acknowledged risks() explicitly (the review screen sets it).
    risks_accepted: bool = False

    @classmethod
    def single_group(
        cls,
        custodians: tuple[str, ...],
        threshold: int,
        *,
        witnesses: tuple[str, ...] = (),
        users: tuple[InitialUser, ...] = (),
        device_label: str = "",
    ) -> CeremonyPlan:
        """The default: one group of custodians holds shares of all three device secrets."""
        policies = tuple(SecretPolicy(kind, threshold, custodians) for kind in DEVICE_SECRETS)
        return cls(custodians, policies, witnesses, users, device_label)

    def problems(self) -> list[str]:
        """Why this plan cannot run; empty when it can. Worded for the review screen."""
        out: list[str] = []
        names = [c.casefold() for c in self.custodians]
        if len(self.custodians) < 2:
            out.append("A ceremony needs at least two custodians.")
        if len(set(names)) != len(names):
            out.append("Two custodians have the same name; names must tell people apart.")
        overlap = {w.casefold() for w in self.witnesses} & set(names)
        if overlap:
            out.append("A witness cannot also be a custodian.")
        kinds = [p.kind for p in self.policies]
        for kind in DEVICE_SECRETS:
            if kind not in kinds:
                out.append(f"No policy for the {kind.value} passphrase.")
        if len(set(kinds)) != len(kinds):
            out.append("A secret has two policies.")
        for p in self.policies:
            unknown = [h for h in p.holders if h.casefold() not in names]
            if unknown:
                out.append(f"{p.kind.value}: holders not on the roster: {', '.join(unknown)}.")
            if len(set(h.casefold() for h in p.holders)) != len(p.holders):
                out.append(f"{p.kind.value}: a custodian is listed twice.")
            if not 2 <= p.threshold <= p.count:
                out.append(
                    f"{p.kind.value}: threshold {p.threshold} of {p.count} holders is not possible "
                    "(need 2 <= K <= N)."
                )
        ids = [u.user_id for u in self.users]
        if len(set(ids)) != len(ids):
            out.append("Two initial users have the same id.")
        for u in self.users:
            if u.user_id == "admin":
                out.append("The user 'admin' is created by provisioning itself.")
            if not _USER_ID_RE.match(u.user_id):
                out.append(f"'{u.user_id}' is not a valid NetHSM user id.")
            if u.holder.casefold() not in names:
                out.append(f"User {u.user_id}: its holder {u.holder} is not on the roster.")
        return out

    def risks(self) -> list[str]:
        """What this plan allows but people must accept knowingly: K = N, where losing any one
        share (or any one custodian) loses the secret for good. Worded for review and report."""
        lost = {
            SecretKind.UNLOCK: "the device can never be unlocked again after a lock or reboot",
            SecretKind.ADMIN: "nobody can administer the device again",
            SecretKind.BACKUP: "no backup can ever be restored",
        }
        return [
            f"{p.kind.value} {p.threshold} of {p.count}: every share is needed. If any one share "
            f"or custodian is lost, {lost.get(p.kind, 'the secret is lost')}."
            for p in self.policies
            if 2 <= p.threshold == p.count
        ]

    def policy(self, kind: SecretKind) -> SecretPolicy:
        for p in self.policies:
            if p.kind is kind:
                return p
        raise KeyError(kind)


@dataclass(frozen=True, eq=False)
class IssuedShare:
    """A share handed to one custodian during their turn; `text` is what they write down."""

    kind: SecretKind
    share: Share
    text: Secret = field(repr=False)

    @property
    def groups(self) -> list[str]:
        """The share's five-character groups after the 'HSMC1' prefix (for display and challenges)."""
        return self.text.reveal_str().split()[1:]


@dataclass(frozen=True, eq=False)
class UserPassphrase:
    user_id: str
    role: UserRole
    passphrase: Secret = field(repr=False)


@dataclass(frozen=True)
class ChallengePart:
    """One group to re-type from paper: on page `page` of the turn (its shares first, then its
    user passphrases, as the reveal screen shows them), at `line` and `column` (both 1-based)."""

    page: int
    what: str  # "UNLOCK share", "passphrase of user backup"
    line: int
    column: int
    length: int = 5  # characters in the group: 5 for shares, PASSPHRASE_GROUP for passphrases


@dataclass(frozen=True)
class Challenge:
    """One group of every share and user passphrase the custodian was shown, picked at random: a
    copying error in any of them shows now, not at the first unlock."""

    parts: tuple[ChallengePart, ...]


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the device says it is, read with the admin passphrase right after provisioning."""

    device_id: str  # "" when it was not reported
    vendor: str = ""
    product: str = ""
    software_version: str = ""
    hardware_version: str = ""
    firmware_version: str = ""

    def describe(self) -> str:
        made = " ".join(x for x in (self.vendor, self.product) if x) or "NetHSM"
        versions = ", ".join(
            f"{what} {value}"
            for what, value in (
                ("software", self.software_version),
                ("firmware", self.firmware_version),
                ("hardware", self.hardware_version),
            )
            if value
        )
        return f"{made} ({versions})" if versions else made


class TurnState(enum.Enum):
    WAITING = "waiting"  # hand the keyboard to this custodian
    REVEALED = "revealed"  # shares on screen
    CONFIRMED = "confirmed"  # re-typed a random part correctly
    DONE = "done"  # screen cleared, secrets of this turn dropped


@dataclass
class Turn:
    custodian: str
    shares: list[IssuedShare]
    user_passphrases: list[UserPassphrase]
    state: TurnState = TurnState.WAITING
    challenge: Challenge | None = None
    failed_confirmations: int = 0
    sealed_to: str = ""  # file name only (the path may be a person's USB stick label)


class Phase(enum.Enum):
    PLANNING = "planning"
    TURNS = "turns"
    READY = "ready"  # every custodian confirmed; nothing sent to the device yet
    PROVISIONING = "provisioning"
    DONE = "done"
    ABORTED = "aborted"
    FAILED = "failed"


class Ceremony:
    """Drives one provisioning ceremony. The UI calls these methods in order; the device is touched
    only by `ceremony.run.run_provisioning`, and only from phase READY."""

    def __init__(
        self,
        plan: CeremonyPlan,
        *,
        rng: Callable[[int], int] = secrets.randbelow,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        problems = plan.problems()
        if problems:
            raise InputError("The ceremony plan is not complete.", " ".join(problems))
        self.plan = plan
        self.phase = Phase.PLANNING
        self._rng = rng
        self._clock = clock
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.secrets: dict[SecretKind, Secret] = {}
        self.user_secrets: dict[str, Secret] = {}
        self.share_sets: dict[SecretKind, tuple[Share, ...]] = {}
        self.turns: list[Turn] = []
        # Public facts about every issued share, kept after the share texts are wiped: the report
        # and the journal need them (set id, index, fingerprint), never the share itself.
        self.issued: list[tuple[str, SecretKind, str, int, int, int, str]] = []
        # Per secret, the (line, column) places, 0-based, whose group differs between its shares.
        # Header groups (set id, threshold...) are the same in every share of a set, so re-typing
        # them would prove nothing about having taken this share down: challenges avoid them.
        self._varying: dict[SecretKind, list[tuple[int, int]]] = {}
        # Facts provisioning learns about the device, for the report and the journal.
        self.certificate: str = ""  # SHA-256 the device presented after provisioning, if checked
        self.mismatched_certificate: str = ""  # what it presented instead, when that was not the pin
        self.identity: DeviceIdentity | None = None
        # abort() and begin_provisioning() race between the UI thread and the provisioning worker.
        self._gate = threading.Lock()

    # --- generation --------------------------------------------------------------------------
    def generate(self) -> None:
        """Make the device secrets and users' passphrases in memory, split them, build the turns."""
        if self.phase is not Phase.PLANNING:
            raise StateError("The secrets were already generated.")
        self.started_at = self._clock()
        for policy in self.plan.policies:
            secret = generate_passphrase(label=f"{policy.kind.value} passphrase")
            self.secrets[policy.kind] = secret
            self.share_sets[policy.kind] = split_secret(
                secret, threshold=policy.threshold, count=policy.count, kind=policy.kind
            )
            texts = [encode_share(sh) for sh in self.share_sets[policy.kind]]
            layouts = [paper_rows(t, passphrase=False) for t in texts]
            self._varying[policy.kind] = [
                (r, c)
                for r, row in enumerate(layouts[0])
                for c in range(len(row))
                if len({rows[r][c] for rows in layouts}) > 1
            ]
            del layouts
            for t in texts:
                t.wipe()
        for user in self.plan.users:
            self.user_secrets[user.user_id] = generate_passphrase(label=f"passphrase of {user.user_id}")
        for name in self.plan.custodians:
            issued: list[IssuedShare] = []
            for policy in self.plan.policies:
                holders = [h.casefold() for h in policy.holders]
                if name.casefold() in holders:
                    share = self.share_sets[policy.kind][holders.index(name.casefold())]
                    issued.append(IssuedShare(policy.kind, share, encode_share(share)))
                    meta = share.set
                    self.issued.append(
                        (name, policy.kind, meta.set_id, meta.generation, share.index, meta.threshold,
                         share.fingerprint)
                    )
            users = [
                UserPassphrase(u.user_id, u.role, self.user_secrets[u.user_id])
                for u in self.plan.users
                if u.holder.casefold() == name.casefold()
            ]
            if issued or users:
                self.turns.append(Turn(name, issued, users))
        self.phase = Phase.TURNS

    # --- turns -------------------------------------------------------------------------------
    @property
    def current_turn(self) -> Turn | None:
        for turn in self.turns:
            if turn.state is not TurnState.DONE:
                return turn
        return None

    def _turn(self, name: str) -> Turn:
        turn = self.current_turn
        if self.phase is not Phase.TURNS or turn is None or turn.custodian != name:
            raise StateError(f"It is not {name}'s turn.")
        return turn

    def reveal(self, name: str) -> Turn:
        turn = self._turn(name)
        turn.state = TurnState.REVEALED
        return turn

    def _pages(self, turn: Turn) -> list[tuple[str, Secret, bool]]:
        """(what, text, is_passphrase) per page of the turn, in the reveal screen's order."""
        pages = [(f"{i.kind.value.upper()} share", i.text, False) for i in turn.shares]
        pages += [(f"passphrase of user {u.user_id}", u.passphrase, True) for u in turn.user_passphrases]
        return pages

    def challenge(self, name: str) -> Challenge:
        """Pick, at random, one group of each share and user passphrase this custodian holds."""
        turn = self._turn(name)
        if turn.state is TurnState.WAITING:
            raise StateError(f"{name} has not seen their shares yet.")
        parts: list[ChallengePart] = []
        for page, (what, text, passphrase) in enumerate(self._pages(turn)):
            length = GROUP_LEN
            if passphrase:
                length = PASSPHRASE_GROUP
                rows = paper_rows(text, passphrase=True)
                # A short last group is easier to guess than a whole one: ask whole groups only.
                places = [
                    (r, c)
                    for r, row in enumerate(rows)
                    for c, group in enumerate(row)
                    if len(group) == PASSPHRASE_GROUP
                ]
                del rows
            else:
                places = self._varying[turn.shares[page].kind]
            r, c = places[self._rng(len(places))]
            parts.append(ChallengePart(page, what, r + 1, c + 1, length))
        turn.challenge = Challenge(tuple(parts))
        if not parts:
            turn.state = TurnState.CONFIRMED
        return turn.challenge

    def confirm(self, name: str, typed: Sequence[str]) -> tuple[bool, ...]:
        """Whether each typed group matches its part of the challenge, read as quorum entry reads
        a share (alphabet.as_typed: case, spaces and dashes ignored, O for 0, I or L for 1).
        The turn is confirmed when all match; otherwise the attempt counts as wrong."""
        turn = self._turn(name)
        ch = turn.challenge
        if ch is None:
            raise StateError("Ask for a challenge first.")
        if len(typed) != len(ch.parts):
            raise StateError(f"Expected {len(ch.parts)} answers, got {len(typed)}.")
        pages = self._pages(turn)
        results: list[bool] = []
        for part, given_text in zip(ch.parts, typed, strict=True):
            _, text, passphrase = pages[part.page]
            rows = paper_rows(text, passphrase=passphrase)
            expected = as_typed(rows[part.line - 1][part.column - 1]).encode()
            del rows
            given = as_typed(given_text).encode()
            results.append(hmac.compare_digest(expected, given))
        if all(results):
            turn.state = TurnState.CONFIRMED
        else:
            turn.failed_confirmations += 1
        return tuple(results)

    def note_sealed(self, name: str, file_name: str) -> None:
        self._turn(name).sealed_to = file_name

    def finish_turn(self, name: str) -> None:
        """The screen was cleared: drop this custodian's share texts and passphrases from memory."""
        turn = self._turn(name)
        if turn.state is not TurnState.CONFIRMED:
            raise StateError(f"{name} has not confirmed their shares yet.")
        for issued in turn.shares:
            issued.text.wipe()
            issued.share.payload.wipe()
        turn.shares = []
        turn.user_passphrases = []
        turn.state = TurnState.DONE
        if self.current_turn is None:
            self.phase = Phase.READY

    # --- end states ----------------------------------------------------------------------------
    def wipe(self) -> None:
        """Forget every secret this ceremony holds (best effort, see Secret.wipe)."""
        for turn in self.turns:
            for issued in turn.shares:
                issued.text.wipe()
            turn.shares = []
            turn.user_passphrases = []
        for shares in self.share_sets.values():
            for share in shares:
                share.payload.wipe()
        for secret in [*self.secrets.values(), *self.user_secrets.values()]:
            secret.wipe()
        self.share_sets.clear()
        self.secrets.clear()
        self.user_secrets.clear()

    def abort(self) -> bool:
        """Wipe every secret and end the ceremony, unless provisioning has begun: then False, and
        nothing is wiped (the provisioning worker finishes and wipes). Safe from any thread."""
        with self._gate:
            if self.phase is Phase.PROVISIONING:
                return False
            if self.phase not in (Phase.DONE, Phase.FAILED):
                self.phase = Phase.ABORTED
            self.wipe()
            self.finished_at = self.finished_at or self._clock()
        return True

    def begin_provisioning(self) -> None:
        """READY -> PROVISIONING, atomically with abort(): after an abort nothing can be sent."""
        with self._gate:
            if self.phase is not Phase.READY:
                raise StateError(
                    f"The ceremony is {self.phase.value}, not ready to provision.",
                    "Nothing was sent to the device.",
                )
            self.phase = Phase.PROVISIONING

    @property
    def set_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for _, _, set_id, *_ in self.issued:
            seen[set_id] = None
        return tuple(seen)
