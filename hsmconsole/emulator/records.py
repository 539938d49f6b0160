"""Byte-exact JSON of the device's stored records (Yojson style), including users' raw-byte salt/digest."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["RecordError", "dumps", "load_key_record", "load_user_record", "loads_text"]

# Yojson.Safe.to_string escapes these with short forms, other control bytes and DEL as \u00XX,
# and writes every other byte raw (so non-ASCII UTF-8 and raw salt bytes go through unchanged).
_SHORT = {0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t"}
_ESCAPES = [_SHORT.get(b, b"\\u%04x" % b if b < 0x20 or b == 0x7F else bytes([b])) for b in range(256)]


class RecordError(Exception):
    """A stored record that does not parse: a corrupted store (the device answers 500)."""


def _string(raw: bytes) -> bytes:
    return b'"' + b"".join(_ESCAPES[b] for b in raw) + b'"'


def dumps(obj: Any) -> bytes:
    """Serialise like Yojson: compact, dict order kept; `str` as UTF-8, `bytes` as raw bytes."""
    if obj is None:
        return b"null"
    if obj is True:
        return b"true"
    if obj is False:
        return b"false"
    if isinstance(obj, int):
        return str(obj).encode("ascii")
    if isinstance(obj, str):
        return _string(obj.encode("utf-8"))
    if isinstance(obj, bytes):
        return _string(obj)
    if isinstance(obj, list | tuple):
        return b"[" + b",".join(dumps(x) for x in obj) + b"]"
    if isinstance(obj, dict):
        return (
            b"{" + b",".join(_string(str(k).encode("utf-8")) + b":" + dumps(v) for k, v in obj.items()) + b"}"
        )
    raise TypeError(f"cannot store {type(obj).__name__} in a record")


def _loads_latin1(data: bytes) -> Any:
    # Each byte becomes one code point, so raw bytes inside strings survive json parsing.
    try:
        return json.loads(data.decode("latin-1"))
    except ValueError as exc:
        raise RecordError("record is not JSON") from exc


def _bytes_of(value: Any) -> bytes:
    if not isinstance(value, str):
        raise RecordError("expected a string")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise RecordError("string holds more than bytes") from exc


def _text_of(value: Any) -> str:
    return _bytes_of(value).decode("utf-8", errors="replace")


def _texts(value: Any) -> Any:
    if isinstance(value, str):
        return _text_of(value)
    if isinstance(value, list):
        return [_texts(v) for v in value]
    if isinstance(value, dict):
        return {_text_of(k): _texts(v) for k, v in value.items()}
    return value


def loads_text(data: bytes) -> Any:
    """A record whose strings are all UTF-8 text (keys, namespaces, network and log config)."""
    return _texts(_loads_latin1(data))


def load_key_record(data: bytes) -> dict[str, Any]:
    """Text everywhere except the certificate's data, which the device stores as raw bytes
    (`"cert":[content_type, data]`); the shape is checked by hsm_keys.check_key_record."""
    raw = _loads_latin1(data)
    if not isinstance(raw, dict):
        raise RecordError("key record is not an object")
    cert = raw.get("cert")
    record: dict[str, Any] = _texts({k: v for k, v in raw.items() if k != "cert"})
    if "cert" in raw:
        if isinstance(cert, list) and len(cert) == 2 and isinstance(cert[1], str):
            cert = [_texts(cert[0]), _bytes_of(cert[1])]
        record["cert"] = _texts(cert)
    # Keep the stored field order (records are re-serialised in it).
    return {k: record[k] for k in raw}


def load_user_record(data: bytes) -> dict[str, Any]:
    """{"name": str, "salt": bytes, "digest": bytes, "role": str, "tags": [str]}."""
    raw = _loads_latin1(data)
    if not isinstance(raw, dict):
        raise RecordError("user record is not an object")
    if set(raw) - {"name", "salt", "digest", "role", "tags"}:
        raise RecordError("user record has an unknown field")
    tags = raw.get("tags", [])
    if not isinstance(tags, list):
        raise RecordError("user tags are not a list")
    return {
        "name": _text_of(raw.get("name")),
        "salt": _bytes_of(raw.get("salt")),
        "digest": _bytes_of(raw.get("digest")),
        "role": _text_of(raw.get("role")),
        "tags": [_text_of(t) for t in tags],
    }
