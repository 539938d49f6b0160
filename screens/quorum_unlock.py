"""Quorum unlock of a Locked device: a quorum of unlock shares, combined in memory, then wiped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hsmconsole.access.quorum import unlock_by_quorum
from hsmconsole.custody.shares import SecretKind
from screens.quorum import QuorumScreen


class QuorumUnlockScreen(QuorumScreen):
    """Unlocks the device once the shares combine; the passphrase exists only during the call."""

    KIND: ClassVar[SecretKind] = SecretKind.UNLOCK
    TITLE = TITLE_TEXT = "Quorum unlock"
    DONE_PROMPT: ClassVar[str] = "Quorum reached: press Enter to unlock the device, Esc to cancel."

    def finish_call(self) -> Callable[[], Any]:
        collector, client, journal = self.collector, self.ctx.client, self.ctx.journal
        return lambda: unlock_by_quorum(collector, client, journal)

    def finished(self, result: Any) -> None:
        self.notify("The device is unlocked. The combined passphrase was wiped from memory.")
        self.dismiss(True)
