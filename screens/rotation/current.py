"""The current set's quorum: shares typed one by one, then the old secret checked against the device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import SecretKind
from screens.base import DeviceContext
from screens.quorum import QuorumScreen


class CurrentQuorumScreen(QuorumScreen):
    """Collects a quorum of `kind` and runs `start(collector)` in a worker; the result is kept in
    `self.result` and the screen dismisses True. Cancel dismisses False."""

    TITLE = TITLE_TEXT = "Rotation: current shares"
    DONE_PROMPT = "Quorum reached: press Enter to check it against the device, Esc to cancel."

    def __init__(
        self,
        ctx: DeviceContext,
        kind: SecretKind,
        start: Callable[[ShareCollector], Any],
        *,
        purpose: str = "",
    ) -> None:
        super().__init__(ctx)
        self.kind = kind
        self.collector = ShareCollector(kind)
        self.start = start
        self.purpose = purpose
        self.result: Any = None

    def instructions(self) -> str:
        what = self.purpose or (
            f"Custodians of the CURRENT {self.kind.value} passphrase each type their share. The "
            "console checks it against the device before it makes anything new."
        )
        return what + " Characters are hidden; each share is checked at once."

    def finish_call(self) -> Callable[[], Any]:
        collector, start = self.collector, self.start
        return lambda: start(collector)

    def finished(self, result: Any) -> None:
        self.result = result
        self.dismiss(True)
