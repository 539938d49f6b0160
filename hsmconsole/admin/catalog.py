"""Large lists kept responsive: all ids at once, details read lazily in chunks, filters over what is known."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hsmconsole.inventory import KeyInfo, UserInfo

T = TypeVar("T")

CHUNK = 200  # details read per device session: big enough to amortise, small enough to show progress


@dataclass(frozen=True)
class Filter:
    """What a filter line means: words are matched against the id (case-insensitive substring);
    `tag:X`, `type:X`, `role:X`, `ns:X` match details (known only once they are read)."""

    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def parse(line: str) -> Filter:
        words, fields = [], []
        for token in line.split():
            key, sep, value = token.partition(":")
            if sep and key.lower() in ("tag", "type", "role", "ns") and value:
                fields.append((key.lower(), value.lower()))
            else:
                words.append(token.lower())
        return Filter(" ".join(words), tuple(fields))

    @property
    def needs_details(self) -> bool:
        return bool(self.fields)


def _field_values(item: object, name: str) -> tuple[str, ...]:
    if isinstance(item, KeyInfo):
        if name == "tag":
            return tuple(t.lower() for t in item.tags)
        if name == "type":
            return (item.type.value.lower(), item.kind.title.lower())
    if isinstance(item, UserInfo):
        if name == "tag":
            return tuple(t.lower() for t in item.tags)
        if name == "role":
            return (item.role.value.lower(),)
        if name == "ns":
            return (item.namespace.lower(),)
    return ()


def matches(item_id: str, item: object | None, flt: Filter) -> bool | None:
    """True/False, or None when the answer depends on details not read yet."""
    if flt.text and not all(w in item_id.lower() for w in flt.text.split()):
        return False
    if not flt.fields:
        return True
    if item is None:
        return None
    for name, value in flt.fields:
        values = _field_values(item, name)
        if not any(v == value or v.startswith(value) for v in values):
            return False
    return True


class Catalog(Generic[T]):
    """The ids of a device listing and the details read so far (`None` until read).

    Rows show as soon as the ids are known; screens ask `missing(ids)` for the rows on screen and
    `next_chunk()` to read the rest in the background, so a filter on details gets complete."""

    def __init__(self, ids: Iterable[str], key: Callable[[T], str]) -> None:
        self.ids: list[str] = list(ids)
        self._key = key
        self.details: dict[str, T] = {}
        self._cursor = 0

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def known(self) -> int:
        return len(self.details)

    @property
    def complete(self) -> bool:
        return len(self.details) >= len(self.ids)

    def add(self, items: Iterable[T]) -> None:
        for item in items:
            self.details[self._key(item)] = item

    def drop(self, item_id: str) -> None:
        self.details.pop(item_id, None)
        if item_id in self.ids:
            self.ids.remove(item_id)

    def missing(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self.details]

    def next_chunk(self, size: int = CHUNK) -> list[str]:
        """The next ids whose details are not read yet, in list order."""
        out: list[str] = []
        while self._cursor < len(self.ids) and len(out) < size:
            item_id = self.ids[self._cursor]
            self._cursor += 1
            if item_id not in self.details:
                out.append(item_id)
        return out

    def select(self, flt: Filter) -> tuple[list[str], int]:
        """Ids that match, and how many more might once their details are read."""
        shown: list[str] = []
        pending = 0
        for item_id in self.ids:
            verdict = matches(item_id, self.details.get(item_id), flt)
            if verdict:
                shown.append(item_id)
            elif verdict is None:
                pending += 1
        return shown, pending
