"""What a killed emulator could leave behind: temporary store files, a copy of the TLS private key."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.conftest import RawClient


def _key_copies(tmp: Path) -> list[Path]:
    return [p for p in tmp.rglob("*") if p.is_file()]


def test_the_tls_private_key_is_not_left_in_tmpdir_while_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with EmbeddedEmulator() as emu:
        # Killed now, nothing would remain: the key lives only in the server's TLS context.
        assert _key_copies(tmp) == []
        raw = RawClient(emu)
        try:
            assert raw.request("GET", "/health/state").status == 200
            emu.hsm.provision("unlockunlock", "adminadmin", datetime.now(UTC))
            reply = raw.request(
                "POST", "/config/tls/generate", auth=("admin", "adminadmin"),
                json_body={"type": "EC_P256", "length": 0},
            )  # fmt: skip
            assert reply.status == 204, reply.body
            assert _key_copies(tmp) == []  # a reloaded certificate leaves no copy either
        finally:
            raw.close()


def test_temporary_store_files_of_a_killed_emulator_are_removed_at_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EmbeddedEmulator(state):
        pass
    partial = state / ".kv-store.json.abc123.tmp"
    partial.write_bytes(b'{"format": "hsmconsole-emu')
    other = state / ".hardware.json.x1.tmp"
    other.write_bytes(b"")
    with EmbeddedEmulator(state):
        assert not partial.exists() and not other.exists()
