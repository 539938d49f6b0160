"""How old each device credential is, from the journal, and which are past the profile's limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hsmconsole.journal.chain import JournalEntry
from hsmconsole.rotation.record import last_changed

CREDENTIALS = ("unlock", "admin", "backup", "tls")


@dataclass(frozen=True)
class CredentialAge:
    name: str  # "unlock", "admin", "backup", "tls"
    set_at: datetime | None  # None: the journal does not say (set before it, or elsewhere)
    age_days: int | None
    too_old: bool

    def describe(self) -> str:
        if self.age_days is None:
            return f"{self.name} ?"
        flag = " OLD" if self.too_old else ""
        return f"{self.name} {self.age_days} d{flag}"


def credential_ages(
    entries: Sequence[JournalEntry], device_id: str, *, limit_days: int, now: datetime | None = None
) -> tuple[CredentialAge, ...]:
    """The age of the unlock, admin and backup passphrase sets and of the TLS certificate: since
    the provisioning ceremony or the last verified rotation (TLS: the last pin after a rotation)."""
    moment = now or datetime.now(UTC)
    known = last_changed(list(entries), device_id)
    out = []
    for name in CREDENTIALS:
        when = known.get(name)
        if when is None:
            out.append(CredentialAge(name, None, None, False))
            continue
        days = max(0, (moment - when).days)
        out.append(CredentialAge(name, when, days, days > limit_days))
    return tuple(out)


def ages_line(ages: Sequence[CredentialAge], limit_days: int) -> str:
    """One dashboard line, e.g. 'unlock 12 d, admin 400 d OLD, backup ?, tls 12 d (limit 365 d)'."""
    if all(a.age_days is None for a in ages):
        return "not in this journal (set before it was kept, or elsewhere)"
    return ", ".join(a.describe() for a in ages) + f" (limit {limit_days} d)"


__all__ = ["CREDENTIALS", "CredentialAge", "ages_line", "credential_ages"]
