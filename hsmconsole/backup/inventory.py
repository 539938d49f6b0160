"""What a backup holds, as public data: users, namespaces and keys (never private key material)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from hsmconsole.errors import IntegrityError

# PKCS#8 algorithm and curve OIDs (DER content bytes) -> the NetHSM key type names.
_RSA = bytes.fromhex("2a864886f70d010101")
_EC = bytes.fromhex("2a8648ce3d0201")
_ED25519 = bytes.fromhex("2b6570")
_CURVES = {
    bytes.fromhex("2a8648ce3d030107"): "EC_P256",
    bytes.fromhex("2b81040022"): "EC_P384",
    bytes.fromhex("2b81040023"): "EC_P521",
    bytes.fromhex("2b81040021"): "EC_P224",
    bytes.fromhex("2b8104000a"): "EC_P256K1",
    bytes.fromhex("2b2403030208010107"): "BrainpoolP256",
    bytes.fromhex("2b240303020801010b"): "BrainpoolP384",
    bytes.fromhex("2b240303020801010d"): "BrainpoolP512",
}


@dataclass(frozen=True)
class UserEntry:
    user_id: str  # "ns~id" for a namespaced user, as the device names it
    name: str
    role: str
    namespace: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    namespace: str
    key_type: str
    mechanisms: tuple[str, ...]
    tags: tuple[str, ...]
    certificate: bool
    label: str = ""

    @property
    def full_id(self) -> str:
        return f"{self.namespace}/{self.key_id}" if self.namespace else self.key_id


@dataclass(frozen=True)
class Inventory:
    """Ids of what a device or backup holds; the details only when the inner layer was opened."""

    user_ids: tuple[str, ...] = ()
    namespace_ids: tuple[str, ...] = ()
    key_ids: tuple[str, ...] = ()  # "ns/id" for a namespaced key
    users: tuple[UserEntry, ...] = ()
    keys: tuple[KeyEntry, ...] = ()
    detailed: bool = False

    def as_ids(self) -> dict[str, list[str]]:
        return {
            "users": list(self.user_ids),
            "namespaces": list(self.namespace_ids),
            "keys": list(self.key_ids),
        }


@dataclass(frozen=True)
class InventoryDiff:
    """What changes going from `old` to `new`: ids added, removed, and (detailed) changed."""

    added: dict[str, tuple[str, ...]] = field(default_factory=dict)
    removed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    changed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any((*self.added.values(), *self.removed.values(), *self.changed.values()))


def diff_inventories(old: Inventory, new: Inventory) -> InventoryDiff:
    added: dict[str, tuple[str, ...]] = {}
    removed: dict[str, tuple[str, ...]] = {}
    changed: dict[str, tuple[str, ...]] = {}
    for kind, a, b in (
        ("users", old.user_ids, new.user_ids),
        ("namespaces", old.namespace_ids, new.namespace_ids),
        ("keys", old.key_ids, new.key_ids),
    ):
        added[kind] = tuple(sorted(set(b) - set(a)))
        removed[kind] = tuple(sorted(set(a) - set(b)))
    if old.detailed and new.detailed:
        before_u = {u.user_id: u for u in old.users}
        changed["users"] = tuple(sorted(u.user_id for u in new.users if before_u.get(u.user_id, u) != u))
        before_k = {k.full_id: k for k in old.keys}
        changed["keys"] = tuple(sorted(k.full_id for k in new.keys if before_k.get(k.full_id, k) != k))
    return InventoryDiff(added, removed, changed)


def classify(path: str) -> tuple[str, str] | None:
    """('users'|'keys'|'namespaces', id) for a record of those stores; None for anything else."""
    if path.startswith("/authentication/"):
        name = path[len("/authentication/") :]
        return None if name == ".version" else ("users", name)
    if path.startswith("/namespace/"):
        name = path[len("/namespace/") :]
        return None if name == ".version" else ("namespaces", name)
    if path.startswith("/key/"):
        name = path[len("/key/") :]
        if name == ".version":
            return None
        if name.startswith("."):
            ns, _, key_id = name[1:].partition("/")
            return ("keys", f"{ns}/{key_id}")
        return ("keys", name)
    return None


def _damaged(path: str) -> IntegrityError:
    return IntegrityError(
        f"The record {path} in the backup is not readable (damaged inside its encryption).",
        "The backup's inner layer does not parse: try another backup.",
    )


def _json(path: str, plain: bytes) -> Any:
    try:
        # latin-1: user records carry raw salt bytes inside JSON strings (reference §8.1).
        return json.loads(plain.decode("latin-1"))
    except ValueError:
        raise _damaged(path) from None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return ()
    return tuple(value)


def parse_user(path: str, user_id: str, plain: bytes) -> UserEntry:
    obj = _json(path, plain)
    if not isinstance(obj, dict):
        raise _damaged(path)
    ns, sep, _ = user_id.partition("~")

    def text(key: str) -> str:
        value = obj.get(key, "")
        if not isinstance(value, str):
            raise _damaged(path)
        # latin-1 decoding above: bring real names back to the UTF-8 text they were.
        return value.encode("latin-1", "replace").decode("utf-8", "replace")

    return UserEntry(user_id, text("name"), text("role"), ns if sep else "", _strings(obj.get("tags")))


def parse_key(path: str, full_id: str, plain: bytes) -> KeyEntry:
    """The key's public description. The private part is only looked at for its algorithm and
    dropped here: nothing of it leaves this function."""
    obj = _json(path, plain)
    if not isinstance(obj, dict):
        raise _damaged(path)
    ns, sep, key_id = full_id.rpartition("/")
    priv = obj.get("priv")
    key_type = "Unknown"
    if isinstance(priv, dict):
        if "raw" in priv:
            key_type = "Generic"
        elif isinstance(priv.get("PEM"), str):
            key_type = _pem_type(priv["PEM"])
    restrictions = obj.get("restrictions")
    tags = _strings(restrictions.get("tags")) if isinstance(restrictions, dict) else ()
    label = obj.get("label", "")
    return KeyEntry(
        key_id=key_id, namespace=ns if sep else "", key_type=key_type,
        mechanisms=_strings(obj.get("mechanisms")), tags=tags, certificate=obj.get("cert") is not None,
        label=label if isinstance(label, str) else "",
    )  # fmt: skip


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, pos, pos + length


def _pem_type(pem: str) -> str:
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
        _, seq, _ = _der(der, 0)  # PrivateKeyInfo
        _, _, after_version = _der(der, seq)  # version
        _, alg, _ = _der(der, after_version)  # AlgorithmIdentifier
        _, oid_start, oid_end = _der(der, alg)
        oid = der[oid_start:oid_end]
        if oid == _RSA:
            return "RSA"
        if oid == _ED25519:
            return "Curve25519"
        if oid == _EC:
            _, c_start, c_end = _der(der, oid_end)
            return _CURVES.get(der[c_start:c_end], "EC")
    except (binascii.Error, IndexError, ValueError):
        pass
    return "Unknown"
