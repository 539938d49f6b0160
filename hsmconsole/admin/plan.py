"""The difference between a configuration and what a device holds: an ordered list of changes (pure)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hsmconsole.admin.model import AdminConfig, KeySpec, UserSpec
from hsmconsole.inventory import ADMIN_USER, KeyInfo, KeyType, UserInfo


@dataclass(frozen=True)
class Snapshot:
    """What the device holds, as far as the planner needs it. Keys are by (namespace, id).

    `certificates` holds the SHA-256 of a key's certificate (None: it has none) for the keys whose
    certificate was read; keys not in it are not compared."""

    namespaces: frozenset[str] = frozenset()
    users: Mapping[str, UserInfo] = field(default_factory=dict)
    keys: Mapping[tuple[str, str], KeyInfo] = field(default_factory=dict)
    certificates: Mapping[tuple[str, str], str | None] = field(default_factory=dict)


class Op(enum.Enum):
    KEY_DELETE = "key.delete"
    USER_DELETE = "user.delete"
    NAMESPACE_DELETE = "namespace.delete"
    USER_CREATE = "user.create"
    NAMESPACE_CREATE = "namespace.create"
    USER_TAG_ADD = "user.tag.add"
    USER_TAG_REMOVE = "user.tag.remove"
    KEY_GENERATE = "key.generate"
    KEY_TAG_ADD = "key.tag.add"
    KEY_TAG_REMOVE = "key.tag.remove"
    KEY_LABEL = "key.label"
    KEY_CERT_DELETE = "key.cert.delete"
    KEY_CERT_SET = "key.cert.set"

    @property
    def destructive(self) -> bool:
        return self in (Op.KEY_DELETE, Op.USER_DELETE, Op.NAMESPACE_DELETE)


_VERB = {
    Op.KEY_DELETE: "delete key",
    Op.USER_DELETE: "delete user",
    Op.NAMESPACE_DELETE: "delete namespace",
    Op.USER_CREATE: "create user",
    Op.NAMESPACE_CREATE: "create namespace",
    Op.USER_TAG_ADD: "add tag",
    Op.USER_TAG_REMOVE: "remove tag",
    Op.KEY_GENERATE: "generate key",
    Op.KEY_TAG_ADD: "add tag",
    Op.KEY_TAG_REMOVE: "remove tag",
    Op.KEY_LABEL: "set label",
    Op.KEY_CERT_DELETE: "remove certificate",
    Op.KEY_CERT_SET: "upload certificate",
}


@dataclass(frozen=True)
class Change:
    """One request to make. `actor` says whose rights it needs: "" the root administrator running
    the apply, a namespace name that namespace's administrator (root cannot act inside an existing
    namespace, reference §4.1). `value` is a tag or label; `user`/`key` carry what a create needs."""

    op: Op
    target: str
    actor: str = ""
    value: str = ""
    line: int | None = None
    user: UserSpec | None = None
    key: KeySpec | None = None

    def describe(self) -> str:
        sign = (
            "-"
            if self.op.destructive or self.op in (Op.USER_TAG_REMOVE, Op.KEY_TAG_REMOVE, Op.KEY_CERT_DELETE)
            else "+"
        )
        if self.op in (
            Op.KEY_TAG_ADD,
            Op.KEY_TAG_REMOVE,
            Op.KEY_LABEL,
            Op.KEY_CERT_SET,
            Op.KEY_CERT_DELETE,
            Op.KEY_GENERATE,
            Op.KEY_DELETE,
        ):
            what = f"key {self.target}"
        elif self.op in (Op.NAMESPACE_CREATE, Op.NAMESPACE_DELETE):
            what = f"namespace {self.target}"
        else:
            what = f"user {self.target}"
        verb = _VERB[self.op]
        if self.op in (Op.USER_TAG_ADD, Op.USER_TAG_REMOVE, Op.KEY_TAG_ADD, Op.KEY_TAG_REMOVE):
            text = f"{verb} {self.value!r} on {what}"
        elif self.op is Op.KEY_LABEL:
            text = f"{verb} of {what} to {self.value!r}"
        elif self.op in (Op.KEY_CERT_SET, Op.KEY_CERT_DELETE):
            text = f"{verb} of {what}"
        elif self.op is Op.KEY_GENERATE and self.key is not None:
            k = self.key
            size = f" {k.length} bits" if k.length else ""
            text = (
                f"{verb} {k.name} ({k.type.value}{size}; {', '.join(sorted(m.value for m in k.mechanisms))})"
            )
        elif self.op is Op.USER_CREATE and self.user is not None:
            text = (
                f"{verb} {self.target} ({self.user.role.value}; passphrase {self.user.passphrase.describe()})"
            )
        elif self.op is Op.NAMESPACE_DELETE:
            text = f"{verb} {self.target} (and every key in it)"
        else:
            text = f"{verb} {self.target}"
        return f"{sign} {text}"

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.op.value,
            "target": self.target,
            "actor": self.actor or None,
            "value": self.value or None,
            "line": self.line,
            "text": self.describe(),
        }


@dataclass(frozen=True)
class Conflict:
    """Something that exists on the device in a form the file contradicts and that apply will not
    replace (a key's type or mechanisms, a user's role)."""

    target: str
    reason: str
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "reason": self.reason, "line": self.line}


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    notes: tuple[str, ...] = ()
    prune: bool = False
    # What --prune would delete, listed when it was not given (so nothing is deleted by surprise).
    unmanaged: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes and not self.conflicts

    @property
    def deletions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.op.destructive)

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [c.as_json() for c in self.changes],
            "conflicts": [c.as_json() for c in self.conflicts],
            "notes": list(self.notes),
            "unmanaged": list(self.unmanaged),
            "in_sync": self.empty,
        }


def _key_name(ns: str, key_id: str) -> str:
    return f"{ns}/{key_id}" if ns else key_id


def make_plan(
    config: AdminConfig, now: Snapshot, *, prune: bool = False, acting_user: str = ADMIN_USER
) -> Plan:
    """The changes that make `now` match `config`, in an order the device accepts: deletions
    first, then users and namespaces (a namespace's users are created by root before the namespace
    exists, by its administrator after), then user tags, then keys with their tags, labels and
    certificates."""
    changes: list[Change] = []
    conflicts: list[Conflict] = []
    notes: list[str] = []
    unmanaged: list[str] = []
    wanted_users = {u.user_id: u for u in config.users}
    wanted_ns = {n.namespace for n in config.namespaces}
    wanted_keys = {k.ref: k for k in config.keys}
    removed: list[Change] = []

    # --- what --prune deletes ------------------------------------------------------------------
    for ns, key_id in sorted(now.keys):
        if (ns, key_id) not in wanted_keys and (ns == "" or ns in wanted_ns):
            removed.append(Change(Op.KEY_DELETE, _key_name(ns, key_id), ns))
    gone_ns = sorted(now.namespaces - wanted_ns)
    for user_id in sorted(now.users):
        ns = now.users[user_id].namespace
        if user_id in wanted_users or user_id in (ADMIN_USER, acting_user):
            continue
        if ns and ns in now.namespaces and ns in wanted_ns:
            removed.append(Change(Op.USER_DELETE, user_id, ns))
    removed += [Change(Op.NAMESPACE_DELETE, ns) for ns in gone_ns]
    for user_id in sorted(now.users):
        ns = now.users[user_id].namespace
        if user_id in wanted_users or user_id in (ADMIN_USER, acting_user):
            continue
        if not ns or ns not in now.namespaces or ns in gone_ns:
            removed.append(Change(Op.USER_DELETE, user_id))
    if prune:
        changes += removed
    else:
        unmanaged = [c.describe()[2:] for c in removed]

    # --- users and namespaces ------------------------------------------------------------------
    def user_changes(user: UserSpec, actor: str) -> None:
        have = now.users.get(user.user_id)
        if have is None:
            changes.append(Change(Op.USER_CREATE, user.user_id, actor, line=user.line, user=user))
            return
        if have.role is not user.role:
            conflicts.append(
                Conflict(
                    f"user {user.user_id}",
                    f"exists as {have.role.value}, the file says {user.role.value}; the device cannot "
                    "change a role: delete the user (or rename it in the file) and apply again",
                    user.line,
                )
            )
        elif have.real_name != user.real_name:
            notes.append(
                f"user {user.user_id}: the device has the name {have.real_name!r}, the file "
                f"{user.real_name!r}; the device cannot rename users, so it is left as it is"
            )

    for user in config.users:
        if not user.namespace:
            user_changes(user, "")
    for spec in config.namespaces:
        ns = spec.namespace
        members = [u for u in config.users if u.namespace == ns]
        if ns in now.namespaces:
            for user in members:
                user_changes(user, ns)
        else:
            for user in members:
                user_changes(user, "")
            changes.append(Change(Op.NAMESPACE_CREATE, ns, line=spec.line))

    conflicted = {c.target for c in conflicts}
    for user in config.users:
        if f"user {user.user_id}" in conflicted:
            continue
        have_user = now.users.get(user.user_id)
        have_tags = set(have_user.tags) if have_user is not None else set()
        for tag in sorted(user.tags - have_tags):
            changes.append(Change(Op.USER_TAG_ADD, user.user_id, user.namespace, tag, user.line))
        for tag in sorted(have_tags - user.tags):
            changes.append(Change(Op.USER_TAG_REMOVE, user.user_id, user.namespace, tag, user.line))

    # --- keys ----------------------------------------------------------------------------------
    for key in config.keys:
        name = key.name
        have = now.keys.get(key.ref)
        actor = key.namespace
        if have is None:
            changes.append(Change(Op.KEY_GENERATE, name, actor, key.label, key.line, key=key))
            changes += [Change(Op.KEY_TAG_ADD, name, actor, t, key.line) for t in sorted(key.tags)]
            if key.certificate is not None:
                changes.append(Change(Op.KEY_CERT_SET, name, actor, line=key.line, key=key))
            continue
        problem = _key_conflict(key, have)
        if problem:
            conflicts.append(Conflict(f"key {name}", problem, key.line))
            continue
        have_tags = set(have.tags)
        changes += [Change(Op.KEY_TAG_ADD, name, actor, t, key.line) for t in sorted(key.tags - have_tags)]
        changes += [Change(Op.KEY_TAG_REMOVE, name, actor, t, key.line) for t in sorted(have_tags - key.tags)]
        if have.label != key.label:
            changes.append(Change(Op.KEY_LABEL, name, actor, key.label, key.line))
        if key.certificate is not None and key.ref in now.certificates:
            digest = now.certificates[key.ref]
            if digest != key.certificate_sha256:
                if digest is not None:
                    changes.append(Change(Op.KEY_CERT_DELETE, name, actor, line=key.line))
                changes.append(Change(Op.KEY_CERT_SET, name, actor, line=key.line, key=key))
    return Plan(tuple(changes), tuple(conflicts), tuple(notes), prune, tuple(unmanaged))


def _key_conflict(key: KeySpec, have: KeyInfo) -> str:
    if have.type is not key.type:
        return (
            f"exists as a {have.type.value} key, the file says {key.type.value}; it is never "
            "replaced: delete it on the device or choose another id"
        )
    if set(have.mechanisms) != set(key.mechanisms):
        return (
            "exists with mechanisms "
            + ", ".join(sorted(m.value for m in have.mechanisms))
            + "; the file says "
            + ", ".join(sorted(m.value for m in key.mechanisms))
            + "; the device cannot change them, and the key is never replaced"
        )
    if (
        key.type is KeyType.RSA
        and have.bits is not None
        and key.length is not None
        and have.bits != key.length
    ):
        return f"exists with {have.bits} bits, the file says {key.length}; it is never replaced"
    return ""
