"""One exception family for the core: each error has a kind, a human title and what to do next."""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    """Broad categories the UI and CLI use to choose wording and exit codes."""

    INPUT = "input"  # the person typed or supplied something wrong
    STATE = "state"  # the device or ceremony is in the wrong state for this
    AUTH = "auth"  # wrong credentials, or the role may not do this
    CONNECTION = "connection"  # network, TLS, or the device went away
    INTEGRITY = "integrity"  # tampering, corruption, checksum or commitment mismatch
    DEVICE = "device"  # the device refused the request for another reason
    INTERNAL = "internal"  # a bug of ours


class HsmConsoleError(Exception):
    """Base error. `title` is one short line; `hint` says what the person can do about it.

    Messages must never contain secrets: callers build them from identifiers only.
    """

    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(self, title: str, hint: str = "", *, kind: ErrorKind | None = None) -> None:
        super().__init__(title)
        self.title = title
        self.hint = hint
        if kind is not None:
            self.kind = kind

    def __str__(self) -> str:
        return f"{self.title} {self.hint}".strip() if self.hint else self.title


class InputError(HsmConsoleError):
    kind = ErrorKind.INPUT


class StateError(HsmConsoleError):
    kind = ErrorKind.STATE


class AuthError(HsmConsoleError):
    kind = ErrorKind.AUTH


class ConnectionFailed(HsmConsoleError):
    kind = ErrorKind.CONNECTION


class IntegrityError(HsmConsoleError):
    kind = ErrorKind.INTEGRITY


class DeviceError(HsmConsoleError):
    kind = ErrorKind.DEVICE
