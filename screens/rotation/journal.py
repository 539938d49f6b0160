"""Which journal rotation writes for a device context (the built-in emulator gets one per run)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from hsmconsole.device.profiles import default_data_dir
from hsmconsole.journal.chain import Journal
from screens.base import DeviceContext

_EMULATOR_JOURNALS: dict[str, Journal] = {}


def journal_for(ctx: DeviceContext, data_dir: Path | None) -> Journal:
    """The app's journal; for the built-in emulator (which has none) one per emulator run, in a
    temporary directory: its state ends with the process, so must its unfinished rotations."""
    if ctx.journal is not None:
        return ctx.journal
    if ctx.emulator:
        host = ctx.profile.host
        if host not in _EMULATOR_JOURNALS:
            where = Path(tempfile.mkdtemp(prefix="hsmconsole-rotation-"))
            atexit.register(shutil.rmtree, where, True)
            _EMULATOR_JOURNALS[host] = Journal(where / "j.jsonl")
        return _EMULATOR_JOURNALS[host]
    return Journal((data_dir or default_data_dir()) / "journal.jsonl")


def device_id(ctx: DeviceContext) -> str:
    """The journal's device id: the profile name (as the ceremony records it)."""
    return ctx.profile.name[:64]
