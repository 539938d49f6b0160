"""Small helpers the SDK-driven integration tests share: Base64 arguments, public keys, expected errors."""

from __future__ import annotations

from collections.abc import Callable

import nethsm
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def b64(data: bytes) -> nethsm.Base64:
    return nethsm.Base64.encode(data)


def public_key(client: nethsm.NetHSM, key_id: str) -> PublicKeyTypes:
    """The key's public half, as the device serves it (PEM), loaded by `cryptography`."""
    return serialization.load_pem_public_key(client.get_key_public_key(key_id).encode())


def fails(call: Callable[[], object], *fragments: str) -> str:
    """The SDK call raises NetHSMError whose text holds every fragment (status words or device message)."""
    with pytest.raises(nethsm.NetHSMError) as info:
        call()
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    return text
