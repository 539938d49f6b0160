"""`--update-key testing`: Nitrokey's public test update key ships in the package; the default trusts none."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.commands.emulator import _update_key
from hsmconsole.emulator.sysupdate import build_update, parse_update, preset_update_key, signature_valid

# SHA-256 of nethsm's src/keyfender/update.pem (the project's shared reference copy).
TESTING_KEY_SHA256 = "36d60c53afcca27235fd04a1f7995dff927a2a928330784be6f4b7c494321496"


def test_the_shipped_testing_key_is_nitrokeys_public_test_update_key() -> None:
    shipped = resources.files("hsmconsole.emulator").joinpath("update_keys", "testing.pem").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == TESTING_KEY_SHA256
    assert b"PRIVATE" not in shipped  # a public key only, never a signing key
    key = preset_update_key("testing")
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048


def test_the_cli_preset_and_the_default() -> None:
    preset = _update_key("testing")
    assert preset is not None
    assert preset.public_numbers() == preset_update_key("testing").public_numbers()
    assert _update_key(None) is None  # by default no update image is trusted
    with pytest.raises(KeyError):
        preset_update_key("production")


def test_an_image_signed_by_another_key_is_not_trusted_by_the_preset() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    image = build_update(other, "notes", "6.0", bytes(512))
    update = parse_update(image)
    assert signature_valid(other.public_key(), image, update)
    assert not signature_valid(preset_update_key("testing"), image, update)
