"""Pilot: an unexpected error ends the console with one line, never a traceback with its locals."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsmconsole.device.profiles import ProfileStore
from screens.app import HsmConsoleApp

SECRET = "correct-horse-battery-staple-42"


async def test_a_crash_shows_no_traceback_and_no_local_variables(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = HsmConsoleApp(store=ProfileStore(tmp_path / "config"), keyring_notice=False)

    def fail_while_holding_a_secret() -> None:
        passphrase = SECRET  # Textual's default crash report prints every frame's locals
        raise RuntimeError(f"failed with {passphrase}")

    with pytest.raises(RuntimeError):  # Pilot re-raises the original for the test
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(fail_while_holding_a_secret)
            await pilot.pause()
            await pilot.pause()

    out, err = capfd.readouterr()  # the app prints its exit report on leaving
    printed = " ".join((out + err).split())
    assert app.return_code == 1
    assert "RuntimeError" in printed and "nothing secret was printed" in printed
    assert SECRET not in printed and "Traceback" not in printed and "passphrase" not in printed
