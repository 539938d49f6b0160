""""Set backup passphrase from shares" is offered only where it can work: not once one is set."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from hsmconsole.access.quorum import BackupPassphraseRecord, backup_passphrase_record
from hsmconsole.device.profiles import ProfileStore
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.secrets import Secret
from screens.app import HsmConsoleApp
from screens.backup_passphrase import BackupPassphraseScreen
from screens.dashboard import DashboardScreen
from tests.ui.conftest import UNLOCK, LockedDevice, settle


def _event(journal: Journal, action: str, outcome: Outcome = Outcome.OK, device: str = "lab",
           detail: str = "") -> None:
    record(journal, action, outcome, actor="t", device_id=device, detail=detail)


def test_the_journal_tells_what_it_knows(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    assert backup_passphrase_record(None, "lab") is BackupPassphraseRecord.UNKNOWN
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.UNKNOWN
    _event(journal, "ceremony.step.provision")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.NOT_SET
    _event(journal, "ceremony.step.backup-passphrase", device="other")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.NOT_SET
    _event(journal, "backup-passphrase.set", Outcome.FAILED, detail="connection")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.NOT_SET
    _event(journal, "backup-passphrase.set", Outcome.FAILED,
           detail="the device already has a backup passphrase")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.SET
    _event(journal, "ceremony.step.provision")  # provisioned again after a factory reset
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.NOT_SET
    _event(journal, "ceremony.step.backup-passphrase")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.SET
    _event(journal, "ceremony.step.provision")
    _event(journal, "rotation.verified", detail="kind=unlock; set=ABCDEFGH; from=1; to=2")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.NOT_SET
    _event(journal, "rotation.verified", detail="kind=backup; set=ABCDEFGH; from=1; to=2")
    assert backup_passphrase_record(journal, "lab") is BackupPassphraseRecord.SET


async def test_dashboard_does_not_offer_it_where_the_journal_says_one_is_set(
    locked: LockedDevice, store: ProfileStore, tmp_path: Path
) -> None:
    locked.client().unlock(Secret(UNLOCK))
    journal = Journal(tmp_path / "journal.jsonl")
    _event(journal, "ceremony.step.provision", device=locked.profile.name)
    _event(journal, "ceremony.step.backup-passphrase", device=locked.profile.name)
    app = HsmConsoleApp(store=store, profile=locked.profile, journal=journal, keyring_notice=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        for text in locked.admin_shares[:2]:
            box = app.screen.query_one("#share", Input)
            box.value = text
            box.focus()
            await pilot.press("enter")
            await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        offer = next(a for a in dash.actions if a.id == "backup-passphrase")
        assert not offer.enabled and "already set" in offer.reason
        dash.run_action_id("backup-passphrase")
        await pilot.pause()
        assert not isinstance(app.screen, BackupPassphraseScreen)  # no shares are asked for
        assert any("already set" in n.message for n in app._notifications)
