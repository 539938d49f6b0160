"""Sealed envelopes: round trip, wrong passphrase, and every kind of tampering."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from hsmconsole.custody import envelope
from hsmconsole.custody.envelope import KdfParams
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.custody.shares import encode_share
from hsmconsole.custody.split import combine_shares, split_secret
from hsmconsole.errors import AuthError, HsmConsoleError, InputError, IntegrityError
from hsmconsole.secrets import Secret

FAST = KdfParams(memory_kib=64, iterations=1, lanes=1)  # tests only; the default is 64 MiB
PASS = Secret("a custodian's long passphrase")


@pytest.fixture(scope="module")
def shares():  # type: ignore[no-untyped-def]
    return split_secret(generate_passphrase(), threshold=2, count=3)


def test_round_trip_one_and_several(shares, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for chosen in ([shares[0]], list(shares)):
        path = tmp_path / f"env{len(chosen)}.hsmenv"
        envelope.write_envelope(path, chosen, PASS, kdf=FAST)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        back = envelope.read_envelope(path, Secret("a custodian's long passphrase"))
        assert [encode_share(s) for s in back] == [encode_share(s) for s in chosen]
    assert combine_shares(back[:2]) == combine_shares(list(shares[:2]))


def test_default_kdf_is_argon2id_64_mib(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS)
    info = envelope.envelope_info(data)
    assert info.kdf == KdfParams(65536, 3, 4)
    assert info.contents[0].index == shares[0].index
    assert info.contents[0].fingerprint == shares[0].fingerprint
    assert envelope.open_envelope(data, PASS)[0].fingerprint == shares[0].fingerprint


def test_nothing_secret_in_the_clear(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    text = encode_share(shares[0]).reveal_str()
    for group in text.split()[5:]:
        assert group.encode() not in data
    assert shares[0].payload.reveal() not in data
    assert PASS.reveal() not in data


def test_wrong_passphrase_is_an_auth_error(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    with pytest.raises(AuthError, match="wrong passphrase"):
        envelope.open_envelope(data, Secret("a custodian's long passphrasE"))


def test_short_passphrase_refused(shares) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        envelope.seal([shares[0]], Secret("short"), kdf=FAST)


def _edit_header(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    magic, header, body, _ = data.split(b"\n")
    h = json.loads(header)
    edit(h)
    header = json.dumps(h, sort_keys=True, separators=(",", ":")).encode()
    return b"\n".join([magic, header, body, b""])


def test_tampering_is_detected(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    magic, header, body, _ = data.split(b"\n")
    ct = bytearray(base64.b64decode(body))
    ct[5] ^= 1
    flipped = b"\n".join([magic, header, base64.b64encode(bytes(ct)), b""])
    with pytest.raises(IntegrityError, match="altered"):
        envelope.open_envelope(flipped, PASS)

    def relabel(h):  # type: ignore[no-untyped-def]
        h["contents"][0]["index"] = 3

    with pytest.raises(IntegrityError):
        envelope.open_envelope(_edit_header(data, relabel), PASS)

    def new_nonce(h):  # type: ignore[no-untyped-def]
        h["cipher"]["nonce"] = base64.b64encode(bytes(12)).decode()

    with pytest.raises(IntegrityError):
        envelope.open_envelope(_edit_header(data, new_nonce), PASS)

    def greedy(h):  # type: ignore[no-untyped-def]
        h["kdf"]["memory_kib"] = 1 << 30

    with pytest.raises(IntegrityError, match="out of bounds"):
        envelope.open_envelope(_edit_header(data, greedy), PASS)
    with pytest.raises(IntegrityError):
        envelope.open_envelope(data[:-10] + b"\n", PASS)
    with pytest.raises(InputError):
        envelope.open_envelope(b"HSMC1 not an envelope", PASS)


def test_every_flipped_bit_is_refused(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    for pos in range(len(data)):
        for bit in range(8):
            edited = bytearray(data)
            edited[pos] ^= 1 << bit
            with pytest.raises(HsmConsoleError):
                envelope.open_envelope(bytes(edited), PASS)


@pytest.mark.parametrize(
    "field, value",
    [
        ("memory_kib", "1e999"), ("memory_kib", "-1e999"), ("memory_kib", "1e30"),
        ("memory_kib", "2147483648"), ("memory_kib", "7"), ("memory_kib", "65536.0"),
        ("memory_kib", '"65536"'), ("iterations", "1e999"),
        ("iterations", "0"), ("iterations", "17"), ("iterations", "true"), ("lanes", "0"), ("lanes", "17"),
        ("lanes", "99999999999999999999"), ("lanes", "null"), ("lanes", "[4]"),
    ],
)  # fmt: skip
def test_absurd_key_derivation_parameters_are_refused(shares, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    magic, header, body, _ = data.split(b"\n")
    current = json.loads(header)["kdf"][field]
    edited = header.replace(f'"{field}":{current}'.encode(), f'"{field}":{value}'.encode())
    assert edited != header
    with pytest.raises(IntegrityError, match="out of bounds"):
        envelope.envelope_info(b"\n".join([magic, edited, body, b""]))


def test_deeply_nested_or_mistyped_headers_are_damaged_not_crashes(shares) -> None:  # type: ignore[no-untyped-def]
    data = envelope.seal([shares[0]], PASS, kdf=FAST)
    magic, header, body, _ = data.split(b"\n")
    h = json.loads(header)
    mistyped = []
    for key, value in (("index", "1"), ("count", 3.0), ("set_id", 7), ("generation", True)):
        entry = dict(h["contents"][0], **{key: value})
        mistyped.append(json.dumps({**h, "contents": [entry]}, sort_keys=True, separators=(",", ":")))
    mistyped.append(json.dumps({**h, "contents": {"a": 1}}, sort_keys=True, separators=(",", ":")))
    for bad in [b"[" * 100_000, b"{" * 50_000, b'{"kdf": [' * 30_000, *(m.encode() for m in mistyped)]:
        with pytest.raises(IntegrityError, match="damaged"):
            envelope.open_envelope(b"\n".join([magic, bad, body, b""]), PASS)
