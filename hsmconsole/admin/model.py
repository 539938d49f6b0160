"""The administration file's model: what the device should hold, and the error naming each bad line."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path

from hsmconsole.errors import InputError
from hsmconsole.inventory import KeyMechanism, KeyType, split_user_id
from hsmconsole.models import UserRole


class PassphraseStore(enum.Enum):
    FILE = "file"
    KEYRING = "keyring"


@dataclass(frozen=True)
class PassphraseSource:
    """Where a user's passphrase lives. `generate`: made (256 bits) when the user is created and
    not there yet; otherwise it must already be there. Never the passphrase itself."""

    store: PassphraseStore
    path: Path | None = None  # with FILE, absolute (resolved against the configuration's folder)
    generate: bool = False

    def describe(self) -> str:
        where = f"file {self.path}" if self.store is PassphraseStore.FILE else "the OS keyring"
        return f"generated into {where}" if self.generate else f"read from {where}"


@dataclass(frozen=True)
class NamespaceSpec:
    namespace: str
    line: int | None = None


@dataclass(frozen=True)
class UserSpec:
    user_id: str
    real_name: str
    role: UserRole
    tags: frozenset[str]
    passphrase: PassphraseSource
    line: int | None = None

    @property
    def namespace(self) -> str:
        return split_user_id(self.user_id)[0]


@dataclass(frozen=True)
class KeySpec:
    namespace: str  # "" for the root namespace
    key_id: str
    type: KeyType
    mechanisms: frozenset[KeyMechanism]
    length: int | None  # RSA and Generic only; None where the type fixes it
    tags: frozenset[str]
    label: str = ""
    certificate: Path | None = None  # absolute
    certificate_sha256: str = ""  # of the file's bytes: the device stores them verbatim
    line: int | None = None

    @property
    def ref(self) -> tuple[str, str]:
        return (self.namespace, self.key_id)

    @property
    def name(self) -> str:
        return f"{self.namespace}/{self.key_id}" if self.namespace else self.key_id


@dataclass(frozen=True)
class AdminConfig:
    """What the device should hold. Order in the file is kept (plans list things in that order)."""

    source: Path
    namespaces: tuple[NamespaceSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    keys: tuple[KeySpec, ...] = ()

    def namespace_admin(self, namespace: str) -> UserSpec | None:
        """The user that acts inside `namespace` once it exists: its first Administrator."""
        return next(
            (u for u in self.users if u.namespace == namespace and u.role is UserRole.ADMINISTRATOR),
            None,
        )

    def only_namespace(self, namespace: str) -> AdminConfig:
        """The part of the file inside `namespace` (what its own administrator can see and change)."""
        return replace(
            self,
            namespaces=tuple(n for n in self.namespaces if n.namespace == namespace),
            users=tuple(u for u in self.users if u.namespace == namespace),
            keys=tuple(k for k in self.keys if k.namespace == namespace),
        )


class ConfigError(InputError):
    """The file is wrong; `problems` are (line or None, message), in file order."""

    def __init__(self, source: Path, problems: list[tuple[int | None, str]]) -> None:
        ordered = sorted(problems, key=lambda p: p[0] or 0)
        lines = [f"{source}:{line}: {msg}" if line else f"{source}: {msg}" for line, msg in ordered]
        more = f" (and {len(lines) - 1} more problem(s), below)" if len(lines) > 1 else ""
        hint = "\n  ".join([*lines[1:], "Nothing was sent to the device; fix the file and run again."])
        super().__init__(lines[0] + more, hint)
        self.problems = ordered
        self.source = source
