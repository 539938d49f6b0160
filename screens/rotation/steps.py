"""The ceremony's hand-off, reveal and confirm screens, used as they are, with a rotation's abort wording."""

from __future__ import annotations

from screens.ceremony.confirm import ConfirmScreen
from screens.ceremony.handoff import HandoffScreen
from screens.ceremony.reveal import RevealScreen
from screens.ceremony.step import CeremonyStep, StepEnd
from screens.dialogs import TypedConfirm

ABORT_WORD = "abort"  # the same word the ceremony asks for
ABORT_CONSEQUENCE = (
    "The new shares handed out so far become void: their holders destroy them. Nothing was sent "
    "to the device; the current shares keep working."
)


class RotationAbort(CeremonyStep):
    """A step whose abort dialog says what aborting a rotation means (the ceremony's speaks of
    provisioning); same typed word, same StepEnd.ABORT. Listed AFTER a ceremony screen in the
    bases: Textual collects a screen's CSS along the first base only."""

    def action_abort(self) -> None:
        if isinstance(self.app.screen, TypedConfirm):
            return
        consequence = (
            ABORT_CONSEQUENCE if self.secrets_exist else "Nothing was generated and nothing was sent."
        )
        confirm = TypedConfirm("Abort the rotation?", consequence, ABORT_WORD)
        self.app.push_screen(confirm, self._rotation_abort_answered)

    def _rotation_abort_answered(self, ok: bool | None) -> None:
        if ok:
            self.dismiss(StepEnd.ABORT)


class RotationHandoff(HandoffScreen, RotationAbort):
    pass


class RotationReveal(RevealScreen, RotationAbort):
    pass


class RotationConfirm(ConfirmScreen, RotationAbort):
    pass


__all__ = ["ABORT_CONSEQUENCE", "RotationAbort", "RotationConfirm", "RotationHandoff", "RotationReveal"]
