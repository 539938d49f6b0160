"""Line numbers for a TOML document's tables and fields (tomllib parses values but keeps no positions)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|=)""")


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else text


@dataclass
class Positions:
    """Where things start: `line_of(("users", 2, "tags"))` is the line of `tags =` in the third
    [[users]] table; `line_of(("users", 2))` is that table's header. Lines count from 1."""

    lines: dict[tuple[object, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[object, ...]) -> int | None:
        # Fall back to the closest enclosing table: a field we could not place is still near it.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def locate(text: str) -> Positions:
    """Scan the source once for table headers and `key =` lines.

    Good enough for error messages: multi-line strings are skipped (a `key =` inside one is text),
    and continuation lines of multi-line arrays have no `key =` of their own.
    """
    pos = Positions()
    counters: dict[str, int] = {}
    current: tuple[object, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _ARRAY_HEADER.match(line)
        if header:
            name = _unquote(header.group(1).strip())
            index = counters.get(name, 0)
            counters[name] = index + 1
            current = (name, index)
            pos.lines.setdefault(current, number)
            pos.lines.setdefault((name,), number)
            continue
        header = _TABLE_HEADER.match(line)
        if header:
            parts: list[object] = [_unquote(p.strip()) for p in header.group(1).split(".")]
            if len(parts) > 1 and str(parts[0]) in counters:
                # [users.passphrase] after [[users]]: a sub-table of the latest element.
                parts.insert(1, counters[str(parts[0])] - 1)
            current = tuple(parts)
            pos.lines.setdefault(current, number)
            continue
        key = _KEY.match(line)
        if key:
            pos.lines.setdefault((*current, _unquote(key.group(1))), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return pos
