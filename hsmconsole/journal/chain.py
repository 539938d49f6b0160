"""The ceremony journal: append-only, hash-chained JSON lines of what was done, never a secret."""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hsmconsole import fileio
from hsmconsole.alphabet import ALPHABET
from hsmconsole.errors import ErrorKind, HsmConsoleError, InputError, IntegrityError
from hsmconsole.journal.leakcheck import looks_secret

FORMAT_VERSION = 1
GENESIS = "0" * 64  # the `prev` of the first entry

_ACTION_RE = re.compile(r"[a-z][a-z0-9._-]{0,63}")
_DEVICE_RE = re.compile(r"[A-Za-z0-9._:-]{0,64}")
_SET_ID_RE = re.compile(f"[{ALPHABET}]{{8}}")
_LOWER = ALPHABET.lower()
_FINGERPRINT_RE = re.compile(f"[{_LOWER}]{{4}}-[{_LOWER}]{{4}}")
_HASH_RE = re.compile("[0-9a-f]{64}")


class Outcome(enum.Enum):
    OK = "ok"
    REFUSED = "refused"  # hsmconsole or the device said no (too few shares, wrong state...)
    FAILED = "failed"  # it was attempted and went wrong
    ABORTED = "aborted"  # a person stopped it


class JournalRefused(HsmConsoleError):
    """Something tried to put a secret, or a value of the wrong type, into the journal."""

    kind = ErrorKind.INTERNAL


def _refuse(field: str, why: str) -> JournalRefused:
    # Never quote the value: it may be exactly the secret we are keeping out.
    return JournalRefused(f"refused to journal field {field!r}: {why}", "This is a bug; report it.")


def _check_text(field: str, value: object, max_len: int, *, required: bool = False) -> None:
    if type(value) is not str:
        raise _refuse(field, f"expected text, got {type(value).__name__}")
    if required and not value:
        raise _refuse(field, "it is empty")
    if len(value) > max_len or not value.isprintable():
        raise _refuse(field, f"at most {max_len} printable characters")
    if looks_secret(value):
        raise _refuse(field, "it looks like a share, passphrase or key")


@dataclass(frozen=True)
class JournalEvent:
    """One thing that happened. Typed fields only: there is no place for a secret to go."""

    actor: str  # who: a user id or custodian name
    action: str  # what: e.g. "ceremony.split", "unlock", "backup.download"
    outcome: Outcome
    device_id: str = ""
    set_ids: tuple[str, ...] = ()
    share_fingerprints: tuple[str, ...] = ()  # Share.fingerprint, never the share
    detail: str = ""  # a short note for people

    def __post_init__(self) -> None:
        _check_text("actor", self.actor, 64, required=True)
        if type(self.action) is not str or not _ACTION_RE.fullmatch(self.action):
            raise _refuse("action", "expected a dotted lower-case name such as 'unlock'")
        if not isinstance(self.outcome, Outcome):
            raise _refuse("outcome", "expected an Outcome")
        if type(self.device_id) is not str or not _DEVICE_RE.fullmatch(self.device_id):
            raise _refuse("device_id", "expected up to 64 letters, digits, '.', '_', ':' or '-'")
        if looks_secret(self.device_id):
            raise _refuse("device_id", "it looks like a share, passphrase or key")
        for name, pattern in (("set_ids", _SET_ID_RE), ("share_fingerprints", _FINGERPRINT_RE)):
            items = getattr(self, name)
            if isinstance(items, list):
                items = tuple(items)
                object.__setattr__(self, name, items)
            if type(items) is not tuple:
                raise _refuse(name, "expected a tuple of text")
            for item in items:
                if type(item) is not str or not pattern.fullmatch(item):
                    raise _refuse(name, "an item is not in the expected format")
        _check_text("detail", self.detail, 300)


@dataclass(frozen=True)
class JournalEntry:
    seq: int  # 1, 2, ... in file order
    ts: str  # UTC, RFC 3339 with milliseconds
    prev: str  # hash of the previous entry, GENESIS for the first
    hash: str  # SHA-256 of this entry's canonical JSON without "hash"
    event: JournalEvent


class ProblemKind(enum.Enum):
    EDITED = "edited"
    MISSING = "missing"  # entries deleted before this line
    OUT_OF_ORDER = "out-of-order"  # reordered, inserted or duplicated
    TRUNCATED = "truncated"  # the last line is incomplete
    MALFORMED = "malformed"
    HEAD_MISMATCH = "head-mismatch"  # the journal does not end where the caller knows it ended


@dataclass(frozen=True)
class JournalProblem:
    line: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class VerifyReport:
    entries: int  # valid entries before the first problem
    head: str  # hash of the last valid entry (GENESIS when none)
    problem: JournalProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _now() -> datetime:
    return datetime.now(UTC)


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in fields.items() if k != "hash"})).hexdigest()


def _to_fields(seq: int, ts: str, prev: str, event: JournalEvent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "ts": ts,
        "prev": prev,
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome.value,
        "device_id": event.device_id,
        "set_ids": list(event.set_ids),
        "shares": list(event.share_fingerprints),
        "detail": event.detail,
    }
    fields["hash"] = _entry_hash(fields)
    return fields


_KEYS = frozenset(_to_fields(1, "", GENESIS, JournalEvent("a", "a", Outcome.OK)))


_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")  # as append() writes it


def _from_fields(fields: Any) -> JournalEntry:
    """Rebuild an entry from parsed JSON; ValueError (naming the field, never its value) if it is
    not exactly one of ours: every field has the type and form the writer gives it, and the event
    passes the same checks (the secret filter included) as one being written."""
    if not isinstance(fields, dict) or set(fields) != _KEYS:
        raise ValueError("not a journal entry")
    if type(fields["v"]) is not int or fields["v"] != FORMAT_VERSION:
        raise ValueError("v")
    seq, ts, prev, hash_ = fields["seq"], fields["ts"], fields["prev"], fields["hash"]
    if type(seq) is not int or seq < 1:
        raise ValueError("seq")
    if type(ts) is not str or not _TS_RE.fullmatch(ts):
        raise ValueError("ts")
    try:
        datetime.fromisoformat(ts)
    except ValueError:
        raise ValueError("ts") from None
    for name, value in (("prev", prev), ("hash", hash_)):
        if type(value) is not str or not _HASH_RE.fullmatch(value):
            raise ValueError(name)
    for name in ("set_ids", "shares"):
        if type(fields[name]) is not list:
            raise ValueError(name)
    if type(fields["outcome"]) is not str:
        raise ValueError("outcome")
    try:
        event = JournalEvent(
            actor=fields["actor"],
            action=fields["action"],
            outcome=Outcome(fields["outcome"]),
            device_id=fields["device_id"],
            set_ids=tuple(fields["set_ids"]),
            share_fingerprints=tuple(fields["shares"]),
            detail=fields["detail"],
        )
    except JournalRefused as exc:
        found = re.search(r"field '(\w+)'", exc.title)
        raise ValueError(found.group(1) if found else "event") from None
    except ValueError:
        raise ValueError("outcome") from None
    return JournalEntry(seq, ts, prev, hash_, event)


def _parse_line(raw: bytes) -> tuple[JournalEntry | None, str]:
    """(entry, "") for a sound line; (None, why) otherwise; `why` starts "was edited" for edits."""
    try:
        fields = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "is not a journal entry (edited or corrupted)"
    try:
        entry = _from_fields(fields)
    except ValueError as exc:
        if str(exc) == "not a journal entry":
            return None, "is not a journal entry (edited or corrupted)"
        return None, f"is not in the journal's format: its field {exc} is malformed (edited or corrupted)"
    if _canonical(fields) != raw:
        return None, "was edited: it is not in the form hsmconsole writes"
    if _entry_hash(fields) != entry.hash:
        return None, "was edited: its hash does not match its content"
    return entry, ""


def verify_journal(path: Path | str, *, expected_head: str | None = None) -> VerifyReport:
    """Check the whole chain and name the first bad line (1-based).

    A chain cannot show that lines were cut off its end, nor that someone rewrote it from the
    first changed line on: pass `expected_head` (a hash recorded elsewhere, in any case, as it is
    often copied from paper) to catch both.
    """
    if expected_head is not None:
        expected_head = expected_head.strip().lower()
        if not _HASH_RE.fullmatch(expected_head):
            raise InputError(
                "the expected head is not a SHA-256 hash", "Give the 64 hexadecimal characters recorded."
            )
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the journal {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    complete = lines[-1] == b""
    if complete:
        lines.pop()
    parsed = [_parse_line(raw) for raw in lines]
    last_line_of: dict[int, int] = {}  # seq -> last line index holding it
    for i, (e, _) in enumerate(parsed):
        if e is not None:
            last_line_of[e.seq] = i
    heads = [GENESIS]  # heads[k]: the hash after k sound entries
    prev, seq = GENESIS, 1

    def report(line: int, kind: ProblemKind, message: str, *, sound: int | None = None) -> VerifyReport:
        sound = seq - 1 if sound is None else sound
        return VerifyReport(sound, heads[sound], JournalProblem(line, kind, f"line {line} {message}"))

    for i, (entry, why) in enumerate(parsed):
        n = i + 1
        last = i == len(parsed) - 1
        if last and not complete:
            return report(n, ProblemKind.TRUNCATED, "is incomplete: the write was interrupted")
        if entry is None:
            kind = ProblemKind.EDITED if why.startswith("was edited") else ProblemKind.MALFORMED
            return report(n, kind, why)
        if entry.seq == seq and entry.prev != prev:
            # In its place but not linked to the line before: that line was edited with its hash
            # recomputed (it then looks sound), or this one was forged. Either may be true.
            if n == 1:
                return report(n, ProblemKind.EDITED, "was edited or forged: it does not start the chain")
            return report(
                n - 1,
                ProblemKind.EDITED,
                f"was edited, or line {n} was forged: line {n} does not link to line {n - 1}",
                sound=seq - 2,
            )
        if entry.prev != prev or entry.seq != seq:
            if entry.seq > seq and last_line_of.get(seq, -1) <= i:
                gap = f"entry {seq}" if entry.seq == seq + 1 else f"entries {seq} to {entry.seq - 1}"
                return report(n, ProblemKind.MISSING, f"follows a gap: {gap} deleted")
            return report(
                n,
                ProblemKind.OUT_OF_ORDER,
                f"(entry {entry.seq}) is out of place: lines were reordered, or a line was "
                "inserted at or before it",
            )
        prev, seq = entry.hash, seq + 1
        heads.append(prev)
    if expected_head is not None and expected_head != prev:
        return report(
            len(parsed),
            ProblemKind.HEAD_MISMATCH,
            "is the end, but the journal should end at another entry: lines were removed "
            "from the end, or it was rewritten",
        )
    return VerifyReport(seq - 1, prev, None)


class Journal:
    """Appends events to one journal file. Concurrent appenders are serialised with flock."""

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] = _now) -> None:
        self.path = Path(path)
        self._clock = clock

    def append(self, event: JournalEvent) -> JournalEntry:
        if not isinstance(event, JournalEvent):
            raise _refuse("event", "expected a JournalEvent")
        with self._locked():
            last = self._last_entry()
            seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
            ts = self._clock().astimezone(UTC).isoformat(timespec="milliseconds")
            fields = _to_fields(seq, ts.replace("+00:00", "Z"), prev, event)
            fileio.append_private(self.path, _canonical(fields) + b"\n")
        return JournalEntry(seq, fields["ts"], prev, fields["hash"], event)

    def entries(self) -> list[JournalEntry]:
        """All entries, after verifying the chain (IntegrityError naming the first bad line)."""
        report = verify_journal(self.path) if self.path.exists() else None
        if report is not None and report.problem is not None:
            raise IntegrityError(f"journal {self.path}: {report.problem.message}")
        if report is None:
            return []
        return [e for e, _ in map(_parse_line, self.path.read_bytes().splitlines()) if e]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fileio.make_directory(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _last_entry(self) -> JournalEntry | None:
        with open(self.path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return None
            chunk = 4096
            while True:
                start = max(0, size - chunk)
                fh.seek(start)
                tail = fh.read()
                body = tail[:-1] if tail.endswith(b"\n") else tail
                if b"\n" in body or start == 0:
                    break
                chunk *= 2
        if not tail.endswith(b"\n"):
            raise IntegrityError(
                f"the journal {self.path} ends with an incomplete line",
                "Keep a copy, remove the incomplete last line, and check it with "
                "`hsmconsole journal verify`.",
            )
        entry, why = _parse_line(body.rsplit(b"\n", 1)[-1])
        if entry is None:
            raise IntegrityError(
                f"the journal {self.path}: its last line {why}",
                "Run `hsmconsole journal verify` on it before recording anything else.",
            )
        return entry


def record(
    journal: Journal | None,
    action: str,
    outcome: Outcome,
    *,
    actor: str,
    device_id: str = "",
    set_ids: tuple[str, ...] = (),
    share_fingerprints: tuple[str, ...] = (),
    detail: str = "",
) -> None:
    """Append one event if there is a journal (the built-in emulator runs without one)."""
    if journal is None:
        return
    journal.append(
        JournalEvent(
            actor=actor, action=action, outcome=outcome, device_id=device_id, set_ids=set_ids,
            share_fingerprints=share_fingerprints, detail=detail,
        )
    )

