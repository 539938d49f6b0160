"""Collect a quorum of custodian shares one at a time, checking each as entered, then combine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.custody.sharecode import GROUP_LEN, SEPARATORS
from hsmconsole.custody.shares import (
    SecretKind,
    SetRef,
    Share,
    ShareSet,
    parse_shares,
)
from hsmconsole.custody.split import combine_shares
from hsmconsole.errors import InputError
from hsmconsole.secrets import Secret


@dataclass(frozen=True)
class Progress:
    """How far a quorum has come; public data only (no share content)."""

    entered: int
    needed: int | None  # unknown until the first share tells its threshold
    set_id: str = ""
    generation: int = 0
    secret_name: str = ""

    @property
    def complete(self) -> bool:
        return self.needed is not None and self.entered >= self.needed

    def describe(self) -> str:
        if self.needed is None:
            return "No share entered yet."
        return f"{self.entered} of {self.needed} shares entered ({self.secret_name}, set {self.set_id})."


def group_offset(text: str, group: int) -> int:
    """Where 1-based `group` (HSMC1 is group 1) starts in a typed share, for putting the cursor
    on the group a refusal names. Groups are counted as the share check counts them: every five
    characters that are not separators."""
    want = max(0, group - 1) * GROUP_LEN
    seen = 0
    for i, ch in enumerate(text):
        if ch in SEPARATORS:
            continue
        if seen == want:
            return i
        seen += 1
    return len(text)


class ShareCollector:
    """Accepts shares of one secret kind one by one and refuses anything that could not combine.

    Every refusal happens here, before a device is contacted: a mistyped share names the group
    and line of the typo; a share of another set, generation or secret, or a repeated share, is
    refused when entered; too few shares cannot be combined; a commitment mismatch is found by
    `combine` before the secret is handed out.
    """

    def __init__(
        self,
        kind: SecretKind,
        *,
        expect: SetRef | None = None,
        void: Callable[[SetRef], str | None] | None = None,
    ) -> None:
        """`void` says why shares of a set generation must not be used any more (a rotation voided
        them, as the journal records), or None; such a share is refused as it is entered."""
        self.kind = kind
        self.expect = expect
        self.void = void
        self._shares: list[Share] = []

    @property
    def shares(self) -> tuple[Share, ...]:
        return tuple(self._shares)

    @property
    def set(self) -> ShareSet | None:
        return self._shares[0].set if self._shares else None

    def progress(self) -> Progress:
        meta = self.set
        if meta is None:
            return Progress(0, None)
        return Progress(
            len(self._shares), meta.threshold, meta.set_id, meta.generation, meta.secret_name
        )

    def add(self, text: Secret, *, source: str = "") -> Share:
        """Check one share's text and keep it; raises InputError (ShareFormatError for typos)."""
        if self.progress().complete:
            raise InputError("enough shares are already entered", "Combine them now.")
        if len(text) == 0:
            raise InputError("no share was entered", "Type the whole share, then press Enter.")
        parsed = parse_shares(text, source=source)
        if len(parsed) != 1:
            for p in parsed:
                p.payload.wipe()
            raise InputError(
                f"that is {len(parsed)} shares at once", "Enter one custodian's share at a time."
            )
        share = parsed[0]
        if not isinstance(share, Share):
            share.payload.wipe()
            raise InputError(
                "that is a raw base64 share without checksum, set id or commitment",
                "Quorum entry takes hsmconsole shares (starting HSMC1) only: a raw share "
                "cannot be checked before it is sent to the device.",
            )
        try:
            self._check(share)
        except InputError:
            share.payload.wipe()
            raise
        self._shares.append(share)
        return share

    def combine(self) -> Secret:
        """The secret, verified against the set's commitment. The shares are wiped either way."""
        try:
            meta = self.set
            if meta is None or not self.progress().complete:
                needed = meta.threshold if meta else "the threshold"
                raise InputError(
                    f"only {len(self._shares)} of {needed} shares entered",
                    "Every custodian of the quorum must enter a share first.",
                )
            return combine_shares(self._shares, expect=self.expect)
        finally:
            self.wipe()

    def wipe(self) -> None:
        for share in self._shares:
            share.payload.wipe()
        self._shares.clear()

    def _check(self, share: Share) -> None:
        meta = share.set
        if meta.kind is not self.kind:
            raise InputError(
                f"{share.name} is a share of the {meta.secret_name}",
                f"This step needs shares of the {self.kind.value} passphrase.",
            )
        if self.expect is not None and meta.ref != self.expect:
            raise InputError(
                f"{share.name} is of set {meta.set_id} generation {meta.generation}, "
                f"not the expected set {self.expect.set_id} generation {self.expect.generation}",
                "Use a share of the current set; older generations were voided by rotation.",
            )
        why = self.void(meta.ref) if self.void is not None else None
        if why:
            raise InputError(
                f"{share.name} is void: {why}",
                "Use a share of the current generation; void shares should be destroyed.",
            )
        first = self.set
        if first is not None and meta != first:
            if meta.set_id != first.set_id:
                raise InputError(
                    f"{share.name} belongs to set {meta.set_id}, "
                    f"but the shares entered so far to set {first.set_id}",
                    "Shares of different splits never combine: use shares of one set only.",
                )
            if meta.generation != first.generation:
                raise InputError(
                    f"{share.name} is generation {meta.generation} of set {meta.set_id}, "
                    f"but the shares entered so far are generation {first.generation}",
                    "Only the newest generation works; older ones were voided by rotation.",
                )
            raise InputError(
                f"{share.name} disagrees with the shares entered so far about set {meta.set_id}",
                "Same set but different threshold, count or commitment: one was altered.",
            )
        for other in self._shares:
            if other.index == share.index:
                raise InputError(
                    f"share {share.index} of set {meta.set_id} was already entered",
                    "Each share counts once: the next custodian enters theirs.",
                )


__all__ = [
    "Progress",
    "ShareCollector",
    "group_offset",
]
