"""Quorum share collection, admin session expiry and TLS trust verdicts (core, no terminal)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.access.session import AdminSession
from hsmconsole.custody.quorum import ShareCollector, group_offset
from hsmconsole.custody.sharecode import ShareFormatError
from hsmconsole.custody.shares import SecretKind, SetRef, encode_share
from hsmconsole.custody.split import split_secret
from hsmconsole.device.client import Credentials
from hsmconsole.device.profiles import Profile
from hsmconsole.device.trust import TrustVerdict, check_trust, grouped
from hsmconsole.errors import InputError, IntegrityError, StateError
from hsmconsole.secrets import Secret

SECRET = "correct-horse-battery-staple-unlock"


def _texts(secret: str = SECRET, kind: SecretKind = SecretKind.UNLOCK, k: int = 2, n: int = 3) -> list[str]:
    shares = split_secret(Secret(secret), threshold=k, count=n, kind=kind)
    return [encode_share(s).reveal_str() for s in shares]


def test_any_two_of_three_combine() -> None:
    texts = _texts()
    for pair in ((0, 1), (0, 2), (2, 1)):
        c = ShareCollector(SecretKind.UNLOCK)
        c.add(Secret(texts[pair[0]]))
        assert c.progress().describe().startswith("1 of 2")
        c.add(Secret(texts[pair[1]]))
        assert c.progress().complete
        assert c.combine().reveal_str() == SECRET
        assert c.shares == ()


def test_short_set_refused() -> None:
    c = ShareCollector(SecretKind.UNLOCK)
    c.add(Secret(_texts()[0]))
    with pytest.raises(InputError, match="only 1 of 2"):
        c.combine()


def test_typo_located() -> None:
    text = _texts()[0]
    pos = text.index(" ", 10) + 2  # inside group 3
    swapped = "Z" if text[pos] != "Z" else "Y"
    c = ShareCollector(SecretKind.UNLOCK)
    with pytest.raises(ShareFormatError) as err:
        c.add(Secret(text[:pos] + swapped + text[pos + 1 :]))
    assert err.value.group == 3
    assert c.progress().entered == 0


def test_mixed_sets_refused_when_entered() -> None:
    a, b = _texts(), _texts()
    c = ShareCollector(SecretKind.UNLOCK)
    c.add(Secret(a[0]))
    with pytest.raises(InputError, match="belongs to set"):
        c.add(Secret(b[1]))
    assert c.progress().entered == 1


def test_duplicate_and_wrong_kind_refused() -> None:
    texts = _texts()
    c = ShareCollector(SecretKind.UNLOCK)
    c.add(Secret(texts[0]))
    with pytest.raises(InputError, match="already entered"):
        c.add(Secret(texts[0]))
    with pytest.raises(InputError, match="admin passphrase"):
        ShareCollector(SecretKind.UNLOCK).add(Secret(_texts(kind=SecretKind.ADMIN)[0]))


def test_expected_set_enforced() -> None:
    texts = _texts()
    with pytest.raises(InputError, match="expected set"):
        ShareCollector(SecretKind.UNLOCK, expect=SetRef("00000000", 1)).add(Secret(texts[0]))


def test_altered_share_fails_commitment() -> None:
    # A share re-encoded with a valid checksum but a changed payload: only the commitment catches it.
    from dataclasses import replace

    shares = split_secret(Secret(SECRET), threshold=2, count=3)
    payload = bytearray(shares[1].payload.reveal())
    payload[0] ^= 1
    forged = replace(shares[1], payload=Secret(bytes(payload)))
    c = ShareCollector(SecretKind.UNLOCK)
    c.add(encode_share(shares[0]))
    c.add(encode_share(forged))
    with pytest.raises(IntegrityError, match="commitment"):
        c.combine()


@given(st.text(max_size=200))
def test_garbage_never_accepted(text: str) -> None:
    c = ShareCollector(SecretKind.UNLOCK)
    with pytest.raises(InputError):
        c.add(Secret(text))
    assert c.progress().entered == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_admin_session_expires_and_wipes() -> None:
    clock = FakeClock()
    secret = Secret("adminadminadmin")
    s = AdminSession(Credentials("admin", secret), idle_timeout=60, clock=clock)
    clock.now += 59
    assert s.credentials().user_id == "admin"  # use restarts the idle timer
    clock.now += 59
    assert s.open and s.remaining() == pytest.approx(1)
    clock.now += 2
    assert not s.open
    assert secret.wiped
    with pytest.raises(StateError):
        s.credentials()
    assert "adminadmin" not in repr(s)


def test_trust_verdicts() -> None:
    fp = ":".join(["AB"] * 32)
    other = ":".join(["CD"] * 32)
    probe = lambda host: fp  # noqa: E731
    assert check_trust(Profile("a", "h:1"), probe).verdict is TrustVerdict.FIRST_CONTACT
    assert check_trust(Profile("a", "h:1", fp), probe).verdict is TrustVerdict.MATCH
    assert check_trust(Profile("a", "h:1", other), probe).verdict is TrustVerdict.MISMATCH
    assert check_trust(Profile("a", "h:1", insecure=True), probe).verdict is TrustVerdict.INSECURE
    assert all(len(line) < 80 for line in grouped(fp))


def test_group_offset_points_at_the_group_a_typo_is_reported_in() -> None:
    text = _texts()[0]
    flat = " ".join(text.split())
    groups = flat.split()
    pos = flat.index(groups[6])  # group 7, counting HSMC1 as group 1
    typo = flat[:pos] + ("Z" if flat[pos] != "Z" else "Y") + flat[pos + 1 :]
    with pytest.raises(ShareFormatError) as err:
        ShareCollector(SecretKind.UNLOCK).add(Secret(typo))
    assert err.value.group == 7
    assert group_offset(typo, 7) == pos
    # Whatever the separators (newlines, dashes, runs without spaces), groups count by five.
    assert group_offset("HSMC1\nAAAAA-BBBBB", 3) == len("HSMC1\nAAAAA-")
    assert group_offset("HSMC1AAAAABBBBB", 3) == 10
    assert group_offset("HSMC1", 9) == len("HSMC1")
