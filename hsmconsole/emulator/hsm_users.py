"""Users, operator tags and namespaces, in the device's authentication and namespace stores."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from hsmconsole.emulator import devcrypto
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm_sealed import SealedStores
from hsmconsole.emulator.hsm_types import Role, UserRecord, corrupt, is_valid_id
from hsmconsole.emulator.records import RecordError, dumps, load_user_record
from hsmconsole.emulator.store import KVStore

log = logging.getLogger("hsmconsole.emulator")

__all__ = ["Namespaces", "Users", "check_namespace_record", "check_user_record"]

_ROLES = frozenset(r.value for r in Role)


def check_user_record(plain: bytes) -> dict[str, Any]:
    """A stored user record (reference §8.1), strictly: RecordError naming the field, never its value."""
    user = load_user_record(plain)
    if len(user["salt"]) != devcrypto.SALT_LEN or len(user["digest"]) != 32:
        raise RecordError("salt or digest of the wrong size")
    if user["role"] not in _ROLES:
        raise RecordError("unknown role")
    if not all(is_valid_id(t) for t in user["tags"]):
        raise RecordError("tags must be ids")
    return user


def check_namespace_record(namespace: str, plain: bytes) -> None:
    """A namespace record is the JSON string of its own name."""
    if plain != dumps(namespace):
        raise RecordError("namespace record does not hold its name")


def _new_user(real_name: str, role: Role, passphrase: str) -> dict[str, Any]:
    salt = os.urandom(devcrypto.SALT_LEN)
    return {
        "name": real_name,
        "salt": salt,
        "digest": devcrypto.passphrase_digest(salt, passphrase),
        "role": role.value,
        "tags": [],
    }


def _user_record(user_id: str, user: dict[str, Any]) -> UserRecord:
    try:
        role = Role(user["role"])
    except ValueError:
        raise corrupt(f"/authentication/{user_id}") from None
    return UserRecord(user_id, user["name"], role, tuple(sorted(user["tags"])))


class Users:
    """/authentication/<id> records. No state checks: the Hsm checks the state and holds the lock."""

    def __init__(self, kv: KVStore, sealed: SealedStores) -> None:
        self._kv = kv
        self._sealed = sealed

    def _user(self, user_id: str) -> dict[str, Any] | None:
        plain = self._sealed.get(f"/authentication/{user_id}", "auth_store")
        if plain is None:
            return None
        try:
            return check_user_record(plain)
        except RecordError:
            raise corrupt(f"/authentication/{user_id}") from None

    def _put(self, user_id: str, user: dict[str, Any]) -> None:
        record = {k: user[k] for k in ("name", "salt", "digest", "role", "tags")}
        self._sealed.put(f"/authentication/{user_id}", "auth_store", dumps(record))

    def _existing(self, user_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        if user is None:
            raise ApiError(404)
        return user

    def authenticate(self, user_id: str, passphrase: str) -> UserRecord | None:
        try:
            user = self._user(user_id)
        except ApiError:
            # The device logs a record it cannot read and refuses the login (401). Log the user id
            # only, never the record: it holds the passphrase digest.
            log.warning("Corrupted database: user record of %r cannot be read; login refused", user_id)
            return None
        if user is None:
            return None
        if not hmac.compare_digest(devcrypto.passphrase_digest(user["salt"], passphrase), user["digest"]):
            return None
        return _user_record(user_id, user)

    def ids(self, namespace: str | None) -> list[str]:
        ids = [p.removeprefix("/authentication/") for p in self._kv.paths("/authentication/")]
        ids = [i for i in ids if i != ".version" and "/" not in i]
        if namespace is not None:
            ids = [i for i in ids if (i.split("~", 1)[0] if "~" in i else "") == namespace]
        return sorted(ids, key=lambda i: i.encode())

    def get(self, user_id: str) -> UserRecord | None:
        user = self._user(user_id)
        return None if user is None else _user_record(user_id, user)

    def put_new(self, user_id: str, real_name: str, role: Role, passphrase: str) -> None:
        """Write a new user record, replacing any (provisioning writes "admin" unchecked)."""
        self._put(user_id, _new_user(real_name, role, passphrase))

    def add(self, user_id: str, real_name: str, role: Role, passphrase: str) -> None:
        if self._kv.get(f"/authentication/{user_id}") is not None:
            raise ApiError(409, "user already exists")
        self.put_new(user_id, real_name, role, passphrase)

    def delete(self, user_id: str) -> None:
        self._existing(user_id)
        self._kv.delete(f"/authentication/{user_id}")

    def set_passphrase(self, user_id: str, passphrase: str) -> None:
        user = self._existing(user_id)
        user["salt"] = os.urandom(devcrypto.SALT_LEN)
        user["digest"] = devcrypto.passphrase_digest(user["salt"], passphrase)
        self._put(user_id, user)

    def _operator_tags(
        self, user_id: str, *, missing_message: str | None
    ) -> tuple[dict[str, Any], list[str]]:
        user = self._user(user_id)
        if user is None:
            raise ApiError(404, missing_message)
        if user["role"] != Role.OPERATOR.value:
            raise ApiError(400, "tag operations only exist on operator users")
        return user, list(user["tags"])

    def add_tag(self, user_id: str, tag: str) -> bool:
        user, tags = self._operator_tags(user_id, missing_message="")
        if tag in tags:
            return False
        user["tags"] = sorted([*tags, tag], key=str.encode)
        self._put(user_id, user)
        return True

    def delete_tag(self, user_id: str, tag: str) -> None:
        user, tags = self._operator_tags(user_id, missing_message=None)
        if tag not in tags:
            raise ApiError(404)
        user["tags"] = [t for t in tags if t != tag]
        self._put(user_id, user)


class Namespaces:
    """/namespace/<ns> records; deleting one also deletes its keys (the Hsm drops their counters)."""

    def __init__(self, kv: KVStore, sealed: SealedStores) -> None:
        self._kv = kv
        self._sealed = sealed

    def names(self) -> list[str]:
        names = [p.removeprefix("/namespace/") for p in self._kv.paths("/namespace/")]
        return sorted((n for n in names if n != ".version" and "/" not in n), key=str.encode)

    def exists(self, namespace: str) -> bool:
        return self._sealed.get(f"/namespace/{namespace}", "namespace_store") == dumps(namespace)

    def add(self, namespace: str) -> None:
        if not namespace:
            raise ApiError(400, "Root namespace always exists")
        if self._kv.get(f"/namespace/{namespace}") is not None:
            raise ApiError(400, f"Namespace {namespace} already exists")
        self._sealed.put(f"/namespace/{namespace}", "namespace_store", dumps(namespace))

    def delete(self, namespace: str) -> None:
        if not namespace:
            raise ApiError(400, "Cannot delete root namespace")
        if self._kv.get(f"/namespace/{namespace}") is None:
            raise ApiError(404)
        with self._kv.batch():
            self._kv.delete_prefix(f"/key/.{namespace}/")
            self._kv.delete(f"/namespace/{namespace}")
