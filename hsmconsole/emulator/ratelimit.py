"""Failed-attempt rate limiting as rate_limit.ml does it: one failure per key blocks it for 1 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

UNLOCK_USER = "_unlock"  # the device's key for /unlock attempts


class RateLimiter:
    """Keys are (client IP, username as sent). Only failures are recorded; while the last failure
    lies strictly within `window` seconds, every request with that key is refused (429)."""

    def __init__(self, window: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._last_purge = clock()

    def blocked(self, ip: str, user: str) -> bool:
        with self._lock:
            last = self._failures.get((ip, user))
            return last is not None and self._clock() - last < self._window

    def record_failure(self, ip: str, user: str) -> None:
        with self._lock:
            now = self._clock()
            self._failures[(ip, user)] = now
            # The device purges old entries every minute; so do we, so the table stays small.
            if now - self._last_purge > 60.0:
                self._failures = {k: t for k, t in self._failures.items() if now - t < self._window}
                self._last_purge = now
