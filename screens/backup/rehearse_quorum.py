"""Custodians enter their unlock shares for a rehearsal: the shares are proven on a throwaway emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hsmconsole.backup.rehearse import Rehearsal, rehearse
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device.client import Credentials
from hsmconsole.secrets import Secret
from screens.base import DeviceContext
from screens.quorum import QuorumScreen


class RehearseQuorumScreen(QuorumScreen):
    """Collects the backup-time unlock shares one custodian at a time (as on the day), then runs the
    whole rehearsal with them. Dismisses True; the result is in `rehearsal`."""

    KIND: ClassVar[SecretKind] = SecretKind.UNLOCK
    TITLE = TITLE_TEXT = "Rehearsal: unlock shares"
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to run the rehearsal, Esc to cancel."

    def __init__(
        self, ctx: DeviceContext, path: Path, backup: Secret, admin: Credentials | None
    ) -> None:
        super().__init__(ctx)
        self.path, self.backup, self.admin = path, backup, admin
        self.rehearsal: Rehearsal | None = None

    def instructions(self) -> str:
        return (
            "Rehearsal into a throwaway emulator (production is not touched). Each custodian "
            "enters the unlock share valid when the backup was made. " + super().instructions()
        )

    def finish_call(self) -> Callable[[], Any]:
        collector, path, backup, admin = self.collector, self.path, self.backup, self.admin
        return lambda: rehearse(path, backup, collector, admin)

    def finished(self, result: Any) -> None:
        self.rehearsal = result
        self.dismiss(True)
