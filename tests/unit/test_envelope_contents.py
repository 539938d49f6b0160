"""Envelopes seal everything a custodian was shown (user passphrases too); removable media offered first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsmconsole.ceremony.plan import Ceremony, CeremonyPlan, InitialUser, paper_rows
from hsmconsole.ceremony.record import envelope_suggestion, seal_turn
from hsmconsole.custody.envelope import (
    KdfParams,
    SealedPassphrase,
    envelope_info,
    open_envelope,
    open_envelope_contents,
    read_envelope_contents,
    seal,
)
from hsmconsole.custody.shares import SecretKind
from hsmconsole.custody.split import split_secret
from hsmconsole.errors import IntegrityError
from hsmconsole.fileio import removable_media
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

FAST = KdfParams(memory_kib=1024, iterations=1, lanes=1)
PASS = Secret("correct horse battery")
MOUNTS = """\
/dev/sda2 / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
tmpfs /run tmpfs rw 0 0
/dev/sdb1 /media/alice/KEY\\040ONE vfat rw 0 0
/dev/sdc1 /run/media/bob/STICK exfat rw 0 0
/dev/sdd1 /mnt ext4 rw 0 0
/dev/sde1 /mnt/usb vfat rw 0 0
/dev/sdf1 /mntx ext4 rw 0 0
/dev/sdg1 /media ext4 rw 0 0
"""


def test_removable_media_are_read_from_proc_mounts() -> None:
    assert removable_media(MOUNTS) == [
        Path("/media/alice/KEY ONE"), Path("/run/media/bob/STICK"), Path("/mnt"), Path("/mnt/usb"),
    ]
    assert removable_media("") == []


def test_the_suggestion_is_on_removable_media_or_nowhere() -> None:
    c = Ceremony(CeremonyPlan.single_group(("Alice", "Bob"), 2))
    c.generate()
    stick = Path("/media/alice/KEY ONE")
    suggested = envelope_suggestion(c, "Alice", [stick])
    assert suggested is not None and suggested.parent == stick and suggested.name.startswith("Alice-")
    assert envelope_suggestion(c, "Alice", []) is None
    c.abort()


def _shares() -> list:  # type: ignore[type-arg]
    return split_secret(Secret("a-secret-for-the-envelope"), threshold=2, count=3, kind=SecretKind.UNLOCK)


def test_passphrases_are_sealed_next_to_the_shares() -> None:
    shares = _shares()
    user = SealedPassphrase("user backup (Backup)", Secret("abcd2345efgh"))
    data = seal(shares[:1], PASS, kdf=FAST, passphrases=[user])
    assert b"abcd2345efgh" not in data
    assert envelope_info(data).passphrases == ("user backup (Backup)",)
    back = open_envelope_contents(data, PASS)
    assert [s.fingerprint for s in back.shares] == [shares[0].fingerprint]
    assert [(p.name, p.passphrase.reveal_str()) for p in back.passphrases] == [
        ("user backup (Backup)", "abcd2345efgh")
    ]
    assert [s.fingerprint for s in open_envelope(data, PASS)] == [shares[0].fingerprint]


def test_an_envelope_of_shares_only_keeps_the_old_format() -> None:
    data = seal(_shares()[:1], PASS, kdf=FAST)
    assert "passphrases" not in json.loads(data.split(b"\n")[1])


def test_a_header_that_hides_a_sealed_passphrase_is_refused() -> None:
    data = seal(_shares()[:1], PASS, kdf=FAST, passphrases=[SealedPassphrase("user x", Secret("y" * 12))])
    lines = data.split(b"\n")
    header = json.loads(lines[1])
    del header["passphrases"]
    lines[1] = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(IntegrityError):
        open_envelope_contents(b"\n".join(lines), PASS)


def test_seal_turn_seals_the_user_passphrase_page_too(tmp_path: Path) -> None:
    users = (InitialUser("backup", UserRole.BACKUP, "backup", "Bob"),)
    c = Ceremony(CeremonyPlan.single_group(("Alice", "Bob"), 2, users=users))
    c.generate()
    for name in ("Alice", "Bob"):
        turn = c.reveal(name)
        ch = c.challenge(name)
        pages = [paper_rows(s.text, passphrase=False) for s in turn.shares]
        pages += [paper_rows(u.passphrase, passphrase=True) for u in turn.user_passphrases]
        c.confirm(name, [pages[p.page][p.line - 1][p.column - 1] for p in ch.parts])
        if name == "Bob":
            shown = turn.user_passphrases[0].passphrase.reveal_str()
            path = seal_turn(c, name, tmp_path / "bob.envelope", PASS, kdf=FAST)
            back = read_envelope_contents(path, PASS)
            assert len(back.shares) == 3
            assert [(p.name, p.passphrase.reveal_str()) for p in back.passphrases] == [
                ("user backup (Backup)", shown)
            ]
        c.finish_turn(name)
    c.abort()
