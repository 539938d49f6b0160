"""fileio.write_private on awkward file systems and paths: no hard links, no modes, a file in the way."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from hsmconsole import fileio


def _no_links(code: int):  # type: ignore[no-untyped-def]
    def link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(src), None, str(dst))

    return link


@pytest.mark.parametrize(
    "code", [errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP], ids=["EPERM", "ENOTSUP", "EOPNOTSUPP"]
)
def test_without_hard_links_files_are_still_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # FAT and exFAT USB sticks, where envelopes go, refuse link() with EPERM.
    monkeypatch.setattr(os, "link", _no_links(code))
    target = tmp_path / "alice.envelope"
    assert fileio.write_private(target, b"sealed") == target
    assert target.read_bytes() == b"sealed"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.envelope"]  # no temporary left
    with pytest.raises(FileExistsError):
        fileio.write_private(target, b"other")
    assert target.read_bytes() == b"sealed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.envelope"]


def test_without_hard_links_a_file_appearing_meanwhile_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "share"

    def racing_link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        Path(str(dst)).write_bytes(b"someone else's")  # appears between the check and the rename
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(FileExistsError):
        fileio.write_private(target, b"mine")
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["share"]


def test_other_link_failures_are_not_papered_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "link", _no_links(errno.EIO))
    with pytest.raises(OSError) as exc:
        fileio.write_private(tmp_path / "x", b"data")
    assert exc.value.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []


def test_a_file_system_without_modes_is_tolerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def chmod(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", chmod)
    monkeypatch.setattr(os, "link", _no_links(errno.EPERM))
    fileio.write_private(tmp_path / "x", b"data")
    assert (tmp_path / "x").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o600  # mkstemp's mode


def test_a_file_in_the_way_of_the_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_bytes(b"")
    for target in (tmp_path / "afile" / "x", tmp_path / "afile" / "sub" / "x"):
        with pytest.raises(NotADirectoryError) as exc:
            fileio.write_private(target, b"data")
        assert exc.value.filename == str(tmp_path / "afile")
    assert (tmp_path / "afile").read_bytes() == b""
    fileio.write_private(tmp_path / "new" / "dirs" / "x", b"data")  # missing directories are made
    assert (tmp_path / "new" / "dirs" / "x").read_bytes() == b"data"
