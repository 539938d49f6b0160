"""Secret: a value that never prints itself, revealed only where a device or a format needs it."""

from __future__ import annotations

import contextlib
import hmac
from typing import Any, NoReturn


class Secret:
    """Holds secret bytes. repr/str show "<redacted>"; pickling and equality by value are refused.

    `wipe()` overwrites the buffer. It is best effort: Python may hold copies elsewhere (the str
    passed to the SDK, for instance), but our own long-lived copy does not outlive its use.
    """

    __slots__ = ("_buf", "_label")

    def __init__(self, value: bytes | bytearray | str, label: str = "secret") -> None:
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        self._buf = bytearray(data)
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    def reveal(self) -> bytes:
        """The secret bytes. Call only at the boundary that needs them (SDK call, encryption)."""
        if not self._buf:
            raise ValueError(f"{self._label} was wiped")
        return bytes(self._buf)

    def reveal_str(self) -> str:
        return self.reveal().decode("utf-8")

    def __len__(self) -> int:
        return len(self._buf)

    @property
    def wiped(self) -> bool:
        return len(self._buf) == 0

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf = bytearray()

    def __repr__(self) -> str:
        return f"<Secret {self._label}: redacted>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets cannot be pickled")

    def __eq__(self, other: Any) -> bool:
        # Constant-time comparison; comparing to non-secrets is a programming error.
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.reveal(), other.reveal())

    def __hash__(self) -> int:
        raise TypeError("secrets are unhashable")

    def __del__(self) -> None:
        # At interpreter shutdown anything may already be gone; there is nothing to report.
        with contextlib.suppress(Exception):
            self.wipe()
