"""A write the disk refuses is never applied: the emulator process on a "full disk" (a file size limit)."""

from __future__ import annotations

import base64
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import nethsm
import pytest

from tests.integration.process import REPO, Emulator

UNLOCK = "unlockunlock"
ADMIN = "adminadmin"
NEW_UNLOCK = "changed-unlock-passphrase"
AES = [nethsm.KeyMechanism.AES_DECRYPTION_CBC]
FULL_AT = 192 * 1024  # bytes a store file may grow to: a few dozen commits after provisioning

pytestmark = pytest.mark.slow


def _launch(state_dir: Path, preexec: Callable[[], None] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hsmconsole", "emulator", "--port", "0", "--state-dir", str(state_dir)],
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


def _disk_full_at(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        # Writes past `limit` bytes fail with EFBIG, as on a full disk (Python ignores SIGXFSZ).
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@contextmanager
def _running(state_dir: Path, preexec: Callable[[], None] | None = None) -> Iterator[Emulator]:
    emu = Emulator(_launch(state_dir, preexec))
    try:
        emu.read_banner()
        yield emu
    finally:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.communicate(timeout=10)


def _status(exc: BaseException) -> int | None:
    ctx = exc.__context__
    status = getattr(ctx, "status", None)
    return status if isinstance(status, int) else None


def _fails_with_500(call: Callable[[], object]) -> None:
    with pytest.raises(nethsm.NetHSMError) as info:
        call()
    assert _status(info.value) == 500
    assert "Could not write to disk." in str(info.value)


def test_writes_on_a_full_disk_are_refused_and_never_applied(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state, _disk_full_at(FULL_AT)) as emu:
        admin = emu.client("admin", ADMIN)
        emu.client().provision(UNLOCK, ADMIN, datetime(2025, 1, 1, tzinfo=UTC))
        admin.add_user("Operator", nethsm.Role.OPERATOR, "operatorpass", "op1")
        admin.generate_key(nethsm.KeyType.CURVE25519, [nethsm.KeyMechanism.EDDSA_SIGNATURE], 255, "signer")
        created = 0
        failed_id = ""
        for n in range(400):  # each commit adds a page to the write-ahead log until the limit
            try:
                admin.generate_key(nethsm.KeyType.GENERIC, AES, 128, f"k{n}")
                created += 1
            except nethsm.NetHSMError as exc:
                assert _status(exc) == 500, exc
                failed_id = f"k{n}"
                break
        assert failed_id, "the file size limit was never reached"
        listed = {k for k in admin.list_keys()}
        assert failed_id not in listed and len(listed) == created + 1
        with pytest.raises(nethsm.NetHSMError) as missing:
            admin.get_key(failed_id)
        assert _status(missing.value) == 404

        _fails_with_500(lambda: admin.add_user("Second", nethsm.Role.OPERATOR, "operatorpass", "op2"))
        assert "op2" not in admin.list_users()
        _fails_with_500(lambda: admin.add_operator_tag("op1", "berlin"))
        assert admin.list_operator_tags("op1") == []
        _fails_with_500(lambda: admin.add_key_tag("signer", "berlin"))
        assert admin.get_key("signer").tags in (None, [])
        _fails_with_500(lambda: admin.set_unlock_passphrase(NEW_UNLOCK, UNLOCK))

        # Still the old unlock passphrase, in memory.
        admin.lock()
        with pytest.raises(nethsm.NetHSMError):
            emu.client().unlock(NEW_UNLOCK)
        time.sleep(1.1)  # the unlock rate limit after a wrong passphrase
        emu.client().unlock(UNLOCK)
        # A signature counted in RAM must be written at shutdown: the disk refuses it.
        message = nethsm.Base64.from_encoded(base64.b64encode(b"x" * 32))
        emu.client("op1", "operatorpass").sign("signer", message, nethsm.SignMode.EDDSA)
        code, _, err = emu.stop(signal.SIGTERM)
        assert code == 1, err
        assert "Traceback" not in err and "could not save" in err

    assert not [p.name for p in state.iterdir() if p.name.endswith(".tmp")]
    with _running(state) as emu:  # no limit: the next boot sees only what was acknowledged
        with pytest.raises(nethsm.NetHSMError):
            emu.client().unlock(NEW_UNLOCK)
        time.sleep(1.1)  # the unlock rate limit after a wrong passphrase
        emu.client().unlock(UNLOCK)
        admin = emu.client("admin", ADMIN)
        assert failed_id not in admin.list_keys()
        assert "op2" not in admin.list_users()
        assert admin.list_operator_tags("op1") == []
        admin.generate_key(nethsm.KeyType.GENERIC, AES, 128, failed_id)
        code, _, err = emu.stop(signal.SIGTERM)
        assert code == 0, err


def test_a_state_directory_that_cannot_be_written_is_refused_at_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with _running(state) as emu:
        emu.client().provision(UNLOCK, ADMIN, datetime(2025, 1, 1, tzinfo=UTC))
        assert emu.stop(signal.SIGTERM)[0] == 0
    # root writes anywhere regardless of modes: then a file size limit too small for any store
    # write (the lock file's process id still fits) stands for the read-only directory.
    preexec = _disk_full_at(64) if os.geteuid() == 0 else None
    state.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        proc = _launch(state, preexec)
        out, err = proc.communicate(timeout=30)
    finally:
        state.chmod(0o700)
    assert proc.returncode == 1, (out, err)
    assert "cannot be written" in err and "Traceback" not in err
    assert "NetHSM emulator: https" not in out
