"""The model's two locks and its store transactions: a change is durable, or rolled back and a 500."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.store import Changes, KVStore, StoreWriteError

__all__ = [
    "WRITE_FAILED", "Transactional", "_operational", "_operational_reader", "_reader",
    "_record_change", "_synchronized",
]

WRITE_FAILED = "Could not write to disk."  # keyfender's answer (500) when the store refuses a write

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T", bound="Transactional")


class Transactional:
    """Two locks, always taken in this order: `_write_lock` serialises every change from its first
    read to its durable write; `_lock` guards the memory (state, keys, caches, the store's committed
    view) and is held only briefly by reads. Every change is one store transaction: if it cannot be
    made durable, the memory is put back as it was (`_memory`/`_restore_memory`) and the call answers
    500 "Could not write to disk.", as the device does."""

    _kv: KVStore

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._kv_in_transaction = False

    def _memory(self) -> tuple[Any, ...]:
        """What a change may alter in memory besides the store."""
        raise NotImplementedError

    def _restore_memory(self, saved: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _require_operational(self) -> None:
        raise NotImplementedError

    def _transaction(
        self: _T,
        fn: Callable[Concatenate[_T, _P], _R],
        operational: bool,
        write_unlocked: bool,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        """Run `fn` as one store transaction (the caller holds `_write_lock`, and `_lock` unless
        `write_unlocked`, in which case the disk write happens without it). Changes made before a
        business error are kept, as each write was before. A write that fails is rolled back."""
        if self._kv_in_transaction:
            if operational:
                self._require_operational()
            return fn(self, *args, **kwargs)  # nested in a change: its transaction takes this too
        error: BaseException | None = None
        with self._lock:
            if operational:
                self._require_operational()
            saved = self._memory()
            self._kv.begin()
            self._kv_in_transaction = True
            try:
                result = fn(self, *args, **kwargs)
            except BaseException as exc:
                error = exc
            finally:
                self._kv_in_transaction = False
                changes = self._kv.end()
            if not write_unlocked:
                self._make_durable(changes, saved)
        if write_unlocked:
            self._make_durable(changes, saved)
        if error is not None:
            raise error
        return result

    def _make_durable(self, changes: Changes, saved: tuple[Any, ...]) -> None:
        try:
            self._kv.flush(changes)
        except StoreWriteError:
            with self._lock:
                self._restore_memory(saved)
            raise ApiError(500, WRITE_FAILED) from None
        with self._lock:
            self._kv.apply(changes)


def _synchronized(fn: Callable[Concatenate[_T, _P], _R]) -> Callable[Concatenate[_T, _P], _R]:
    """A change of device state: both locks for the whole call, its store writes one transaction."""

    def wrapper(self: _T, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._write_lock, self._lock:
            return self._transaction(fn, False, False, *args, **kwargs)

    return cast("Callable[Concatenate[_T, _P], _R]", functools.wraps(fn)(wrapper))


def _operational(fn: Callable[Concatenate[_T, _P], _R]) -> Callable[Concatenate[_T, _P], _R]:
    """_synchronized, and 412 "Service not available" unless the device is Operational."""

    def wrapper(self: _T, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._write_lock, self._lock:
            return self._transaction(fn, True, False, *args, **kwargs)

    return cast("Callable[Concatenate[_T, _P], _R]", functools.wraps(fn)(wrapper))


def _record_change(fn: Callable[Concatenate[_T, _P], _R]) -> Callable[Concatenate[_T, _P], _R]:
    """A change of records only (keys, users, namespaces, tags) on an Operational device: computed
    under both locks, but written to disk holding only the write lock, so that reads and signing by
    other clients never wait for another request's disk write. They see the change once durable."""

    def wrapper(self: _T, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._write_lock:
            return self._transaction(fn, True, True, *args, **kwargs)

    return cast("Callable[Concatenate[_T, _P], _R]", functools.wraps(fn)(wrapper))


def _reader(fn: Callable[Concatenate[_T, _P], _R]) -> Callable[Concatenate[_T, _P], _R]:
    """A read (or a RAM-only change such as an operation count): only the short instance lock."""

    def wrapper(self: _T, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            return fn(self, *args, **kwargs)

    return cast("Callable[Concatenate[_T, _P], _R]", functools.wraps(fn)(wrapper))


def _operational_reader(fn: Callable[Concatenate[_T, _P], _R]) -> Callable[Concatenate[_T, _P], _R]:
    """_reader, and 412 "Service not available" unless the device is Operational."""

    def wrapper(self: _T, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            self._require_operational()
            return fn(self, *args, **kwargs)

    return cast("Callable[Concatenate[_T, _P], _R]", functools.wraps(fn)(wrapper))
