"""The declarative administration file's TOML parser: every refusal names the file's line."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hsmconsole.admin.model import (
    AdminConfig,
    ConfigError,
    KeySpec,
    NamespaceSpec,
    PassphraseSource,
    PassphraseStore,
    UserSpec,
)
from hsmconsole.admin.tomlpos import Positions, locate
from hsmconsole.errors import InputError
from hsmconsole.inventory import (
    ADMIN_USER,
    KEY_KINDS,
    KeyMechanism,
    KeyType,
    check_generate,
    id_problem,
)
from hsmconsole.models import UserRole

MAX_LABEL_BYTES = 32  # reference §5.4
_MAX_FILE = 4 << 20
_TOP_FIELDS = ("namespaces", "users", "keys")
_NS_FIELDS = ("id",)
_USER_FIELDS = ("id", "name", "role", "tags", "passphrase")
_KEY_FIELDS = ("id", "namespace", "type", "mechanisms", "length", "tags", "label", "certificate")
_PASS_FIELDS = ("file", "keyring", "generate")


class _Checker:
    """Collects every problem with its line, so that one run shows them all."""

    def __init__(self, pos: Positions) -> None:
        self.pos = pos
        self.problems: list[tuple[int | None, str]] = []

    def add(self, path: tuple[object, ...], message: str) -> None:
        self.problems.append((self.pos.line_of(path), message))

    def fields(self, path: tuple[object, ...], table: Mapping[str, Any], known: tuple[str, ...]) -> None:
        for name in table:
            if name not in known:
                self.add(
                    (*path, name),
                    f"unknown field {name!r}{_where(path)} (known fields: {', '.join(known)})",
                )

    def text(self, path: tuple[object, ...], table: Mapping[str, Any], name: str, *, required: bool) -> str:
        value = table.get(name)
        if value is None:
            if required:
                self.add(path, f"{name!r} is missing{_where(path)}")
            return ""
        if not isinstance(value, str):
            self.add((*path, name), f"{name!r} must be a string{_where(path)}")
            return ""
        return value

    def ident(self, path: tuple[object, ...], value: str, what: str) -> bool:
        problem = id_problem(value)
        if problem:
            self.add(path, f"{what} {value!r} is not valid: {problem}")
        return not problem

    def tags(self, path: tuple[object, ...], table: Mapping[str, Any]) -> frozenset[str]:
        value = table.get("tags", [])
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            self.add((*path, "tags"), "'tags' must be a list of strings")
            return frozenset()
        for tag in value:
            self.ident((*path, "tags"), tag, "tag")
        if len(set(value)) != len(value):
            self.add((*path, "tags"), "a tag is listed twice")
        return frozenset(value)


def _where(path: tuple[object, ...]) -> str:
    if len(path) >= 2 and isinstance(path[1], int):
        return f" in [[{path[0]}]] number {path[1] + 1}"
    return ""


def load_config(path: Path | str) -> AdminConfig:
    """Read and check the file. Raises ConfigError (exit 2) listing every problem with its line."""
    source = Path(path)
    try:
        raw = source.read_bytes()[: _MAX_FILE + 1]
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}", "Check the file name.") from None
    if len(raw) > _MAX_FILE:
        raise InputError(f"{source} is too big for an administration file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text") from None
    return parse_config(text, source.resolve())


def parse_config(text: str, source: Path) -> AdminConfig:
    """Parse `text`; relative paths inside are taken from `source`'s folder (so the file applies
    the same from any working directory)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line: int | None = None
        if "(at line " in message:
            message, _, tail = message.partition(" (at line ")
            line = int(tail.split(",")[0].rstrip(")")) if tail[:1].isdigit() else None
        raise ConfigError(source, [(line, f"not valid TOML: {message}")]) from None
    check = _Checker(locate(text))
    base = source.parent
    check.fields((), data, _TOP_FIELDS)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in _TOP_FIELDS:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            check.add((name,), f"{name!r} must be written as [[{name}]] tables")
            value = []
        tables[name] = value
    namespaces = _namespaces(check, tables["namespaces"])
    users = _users(check, tables["users"], base)
    keys = _keys(check, tables["keys"], base)
    _cross_check(check, namespaces, users, keys)
    if check.problems:
        raise ConfigError(source, check.problems)
    return AdminConfig(source, tuple(namespaces), tuple(users), tuple(keys))


def _namespaces(check: _Checker, tables: list[dict[str, Any]]) -> list[NamespaceSpec]:
    out: list[NamespaceSpec] = []
    seen: dict[str, int | None] = {}
    for i, table in enumerate(tables):
        path: tuple[object, ...] = ("namespaces", i)
        check.fields(path, table, _NS_FIELDS)
        ns = check.text(path, table, "id", required=True)
        if not ns or not check.ident((*path, "id"), ns, "namespace"):
            continue
        line = check.pos.line_of(path)
        if ns in seen:
            check.add(path, f"namespace {ns!r} is declared twice (first on line {seen[ns]})")
            continue
        seen[ns] = line
        out.append(NamespaceSpec(ns, line))
    return out


def _users(check: _Checker, tables: list[dict[str, Any]], base: Path) -> list[UserSpec]:
    out: list[UserSpec] = []
    seen: dict[str, int | None] = {}
    roles = {r.value: r for r in UserRole}
    for i, table in enumerate(tables):
        path: tuple[object, ...] = ("users", i)
        check.fields(path, table, _USER_FIELDS)
        user_id = check.text(path, table, "id", required=True)
        ok = bool(user_id)
        if user_id:
            ns, sep, name = user_id.partition("~")
            parts = [ns, name] if sep else [user_id]
            ok = all(check.ident((*path, "id"), p, "user id part") for p in parts)
            if user_id == ADMIN_USER:
                check.add(
                    (*path, "id"),
                    "the 'admin' user is made by provisioning and its passphrase "
                    "belongs to the custodians: leave it out of the file",
                )
                ok = False
        role_text = check.text(path, table, "role", required=True)
        role = roles.get(role_text)
        if role_text and role is None:
            check.add((*path, "role"), f"role {role_text!r} is not one of {', '.join(roles)}")
        name = check.text(path, table, "name", required=False) or user_id
        tags = check.tags(path, table)
        if tags and role is not None and role is not UserRole.OPERATOR:
            check.add((*path, "tags"), f"only Operators have tags (this user is {role.value})")
        if role is UserRole.BACKUP and "~" in user_id:
            check.add(
                (*path, "role"),
                "a Backup user in a namespace can do nothing: backups are made by root Backup users only",
            )
        source = _passphrase(check, path, table.get("passphrase"), base)
        if not ok or role is None or source is None:
            continue
        line = check.pos.line_of(path)
        if user_id in seen:
            check.add(path, f"user {user_id!r} is declared twice (first on line {seen[user_id]})")
            continue
        seen[user_id] = line
        out.append(UserSpec(user_id, name, role, tags, source, line))
    return out


def _passphrase(
    check: _Checker, path: tuple[object, ...], value: object, base: Path
) -> PassphraseSource | None:
    where = (*path, "passphrase")
    if value is None:
        check.add(
            path,
            "'passphrase' is missing: say where it comes from, e.g. "
            'passphrase = { generate = true, file = "secrets/NAME.pass" }',
        )
        return None
    if isinstance(value, str):
        # Never echo it: it may be a real passphrase.
        check.add(
            where,
            "a passphrase written in the file is refused (the file would hold a secret): "
            'use { generate = true, file = "..." }, { generate = true, keyring = true } or '
            '{ file = "..." }',
        )
        return None
    if not isinstance(value, dict):
        check.add(where, "'passphrase' must be a table such as { file = \"secrets/NAME.pass\" }")
        return None
    check.fields(where, value, _PASS_FIELDS)
    generate = value.get("generate", False)
    if not isinstance(generate, bool):
        check.add(where, "'generate' must be true or false")
        return None
    file = value.get("file")
    keyring = value.get("keyring", False)
    if not isinstance(keyring, bool) or (file is not None and not isinstance(file, str)):
        check.add(where, "'file' must be a path string and 'keyring' true or false")
        return None
    if (file is None) == (not keyring):
        check.add(where, 'give exactly one of file = "..." or keyring = true')
        return None
    if keyring:
        return PassphraseSource(PassphraseStore.KEYRING, None, generate)
    assert isinstance(file, str)
    target = (base / Path(file).expanduser()).resolve()
    if not generate and not target.is_file():
        check.add(
            where,
            f"passphrase file {target} does not exist (add generate = true to make "
            "one when the user is created)",
        )
        return None
    if generate and target.exists() and not target.is_file():
        check.add(where, f"{target} exists and is not a file")
        return None
    return PassphraseSource(PassphraseStore.FILE, target, generate)


def _keys(check: _Checker, tables: list[dict[str, Any]], base: Path) -> list[KeySpec]:
    out: list[KeySpec] = []
    seen: dict[tuple[str, str], int | None] = {}
    types = {t.value: t for t in KeyType}
    mechs = {m.value: m for m in KeyMechanism}
    for i, table in enumerate(tables):
        path: tuple[object, ...] = ("keys", i)
        check.fields(path, table, _KEY_FIELDS)
        key_id = check.text(path, table, "id", required=True)
        ok = bool(key_id) and check.ident((*path, "id"), key_id, "key id")
        ns = check.text(path, table, "namespace", required=False)
        if ns:
            ok = check.ident((*path, "namespace"), ns, "namespace") and ok
        type_text = check.text(path, table, "type", required=True)
        key_type = types.get(type_text)
        if type_text and key_type is None:
            check.add((*path, "type"), f"key type {type_text!r} is not one of {', '.join(types)}")
        raw_mechs = table.get("mechanisms")
        mechanisms: list[KeyMechanism] = []
        if raw_mechs is None:
            check.add(path, "'mechanisms' is missing" + _choices(key_type))
        elif not isinstance(raw_mechs, list) or not all(isinstance(m, str) for m in raw_mechs):
            check.add((*path, "mechanisms"), "'mechanisms' must be a list of strings")
        else:
            for m in raw_mechs:
                if m in mechs:
                    mechanisms.append(mechs[m])
                else:
                    check.add((*path, "mechanisms"), f"mechanism {m!r} does not exist" + _choices(key_type))
                    ok = False
        length = table.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool)):
            check.add((*path, "length"), "'length' must be a number of bits")
            length, ok = None, False
        label = check.text(path, table, "label", required=False)
        if len(label.encode("utf-8")) > MAX_LABEL_BYTES:
            check.add((*path, "label"), f"the label is longer than {MAX_LABEL_BYTES} bytes")
        cert = check.text(path, table, "certificate", required=False)
        cert_path = (base / Path(cert).expanduser()).resolve() if cert else None
        cert_digest = ""
        if cert_path is not None:
            try:
                cert_digest = hashlib.sha256(cert_path.read_bytes()[: _MAX_FILE + 1]).hexdigest()
            except OSError as exc:
                check.add((*path, "certificate"), f"cannot read certificate file {cert_path}: {exc.strerror}")
        tags = check.tags(path, table)
        if key_type is not None and raw_mechs is not None and ok:
            kind = KEY_KINDS[key_type]
            if length is not None and not kind.has_length:
                check.add((*path, "length"), f"{_a(kind.title)} key has a fixed size: leave 'length' out")
                ok = False
            elif kind.has_length and length is None:
                check.add(
                    path,
                    f"'length' is missing: {_a(kind.title)} key needs one "
                    f"({kind.min_length} to {kind.max_length} bits, e.g. {kind.lengths[0]})",
                )
                ok = False
            else:
                try:
                    check_generate(key_type, mechanisms, length)
                except InputError as exc:
                    check.add(
                        (*path, "length" if " bits" in exc.title else "mechanisms"),
                        f"{exc.title} {exc.hint}".strip(),
                    )
                    ok = False
            if len(set(mechanisms)) != len(mechanisms):
                check.add((*path, "mechanisms"), "a mechanism is listed twice")
        if not ok or key_type is None:
            continue
        line = check.pos.line_of(path)
        ref = (ns, key_id)
        if ref in seen:
            where = f"namespace {ns!r}" if ns else "the root namespace"
            check.add(path, f"key {key_id!r} in {where} is declared twice (first on line {seen[ref]})")
            continue
        seen[ref] = line
        out.append(
            KeySpec(
                ns, key_id, key_type, frozenset(mechanisms), length, tags, label, cert_path, cert_digest, line
            )
        )
    return out


def _choices(key_type: KeyType | None) -> str:
    if key_type is None:
        return ""
    return (
        f" ({_a(KEY_KINDS[key_type].title)} key takes: "
        + ", ".join(m.value for m in KEY_KINDS[key_type].mechanisms)
        + ")"
    )


def _cross_check(
    check: _Checker, namespaces: list[NamespaceSpec], users: list[UserSpec], keys: list[KeySpec]
) -> None:
    declared = {n.namespace for n in namespaces}
    admins = {u.namespace for u in users if u.role is UserRole.ADMINISTRATOR}
    for index, user in enumerate(users):
        if user.namespace and user.namespace not in declared:
            check.problems.append(
                (
                    user.line,
                    f"user {user.user_id!r} is in namespace "
                    f"{user.namespace!r}, which no [[namespaces]] table declares",
                )
            )
        del index
    for key in keys:
        if key.namespace and key.namespace not in declared:
            check.problems.append(
                (
                    key.line,
                    f"key {key.key_id!r} is in namespace {key.namespace!r}, "
                    "which no [[namespaces]] table declares",
                )
            )
    users_in = {u.namespace for u in users if u.namespace} | {k.namespace for k in keys if k.namespace}
    for ns in namespaces:
        if ns.namespace in users_in and ns.namespace not in admins:
            check.problems.append(
                (
                    ns.line,
                    f"namespace {ns.namespace!r} has users or keys but no "
                    f"Administrator ({ns.namespace}~NAME): only it can manage them "
                    "once the namespace exists",
                )
            )


def _a(word: str) -> str:
    return ("an " if word[:1] in "AEIOU" else "a ") + word
