"""Hypothesis strategies for administration files: random valid configurations as TOML documents."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

NAMESPACES = ("repo", "images", "ci")
TAGS = ("repo", "images", "release", "nightly")
# (type, mechanisms, length): cheap to generate on the emulator, and one of each shape.
KEY_SHAPES: tuple[tuple[str, tuple[str, ...], int | None], ...] = (
    ("Curve25519", ("EdDSA_Signature",), None),
    ("EC_P256", ("ECDSA_Signature",), None),
    ("EC_P256K1", ("ECDSA_Signature", "BIP340_Signature"), None),
    ("RSA", ("RSA_Signature_PKCS1", "RSA_Signature_PSS_SHA256"), 1024),
    ("Generic", ("AES_Encryption_CBC", "AES_Decryption_CBC"), 128),
)


def _pass_file(user_id: str) -> dict[str, Any]:
    return {"generate": True, "file": f"secrets/{user_id.replace('~', '--')}.pass"}


@st.composite
def config_docs(draw: st.DrawFn, *, max_keys: int = 3) -> dict[str, Any]:
    """A valid configuration as a dict ready for tomli_w (passphrase files relative to the file)."""
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), unique=True, max_size=2))
    users: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for ns in ["", *namespaces]:
        prefix = f"{ns}~" if ns else ""
        if ns:
            users.append(
                {"id": f"{ns}~admin", "role": "Administrator", "passphrase": _pass_file(f"{ns}~admin")}
            )
        for n in range(draw(st.integers(0, 2))):
            user_id = f"{prefix}op{n}"
            tags = draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
            users.append(
                {
                    "id": user_id,
                    "name": f"Operator {n}",
                    "role": "Operator",
                    "tags": tags,
                    "passphrase": _pass_file(user_id),
                }
            )
        for n in range(draw(st.integers(0, max_keys))):
            key_type, mechs, length = draw(st.sampled_from(KEY_SHAPES))
            key: dict[str, Any] = {
                "id": f"k{n}",
                "type": key_type,
                "mechanisms": list(mechs),
                "tags": draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2)),
            }
            if ns:
                key["namespace"] = ns
            if length is not None:
                key["length"] = length
            label = draw(st.sampled_from(("", "signing", "Build key")))
            if label:
                key["label"] = label
            keys.append(key)
    return {"namespaces": [{"id": ns} for ns in namespaces], "users": users, "keys": keys}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)  # a JSON string of these characters is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"


def to_toml(doc: dict[str, Any]) -> str:
    """As a person writes it: [[tables]], one field a line, inline tables for passphrases."""
    out: list[str] = []
    for name in ("namespaces", "users", "keys"):
        for table in doc.get(name, []):
            out.append(f"[[{name}]]")
            for field, value in table.items():
                out.append(f"{field} = {_value(value)}")
            out.append("")
    return "\n".join(out)
