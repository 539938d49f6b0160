"""multipart/form-data split into parts by position, raw bytes kept (the device ignores part names)."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from hsmconsole.emulator.errors import ApiError

# python-multipart logs its parse complaints with bytes of the body ("Expected boundary character 45,
# got 103"); bodies carry keys and passphrases, and the emulator never logs them. A level above
# CRITICAL drops every record of it and its child loggers before any handler sees one.
logging.getLogger("python_multipart").setLevel(logging.CRITICAL + 1)


@dataclass(frozen=True)
class Part:
    content_type: str
    data: bytes


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary if this is a multipart/form-data content type with one, else None."""
    if not content_type:
        return None
    ctype, options = parse_options_header(content_type)
    if ctype != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    return boundary or None


def split_parts(body: bytes, boundary: bytes, error: str) -> list[Part]:
    """Every part in order. Malformed input → ApiError(400, error)."""
    parts: list[Part] = []
    chunks: list[bytes] = []
    headers: dict[str, str] = {}
    field: list[bytes] = []
    value: list[bytes] = []

    def on_part_begin() -> None:
        chunks.clear()
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.append(data[start:end])

    def on_header_end() -> None:
        headers[b"".join(field).decode("latin-1").lower()] = b"".join(value).decode("latin-1")
        field.clear()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        parts.append(Part(headers.get("content-type", ""), b"".join(chunks)))

    ended: list[bool] = []

    def on_end() -> None:
        ended.append(True)

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
            "on_end": on_end,
        }
    try:
        # Inside the try: python-multipart refuses a boundary over 256 characters when built.
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError, IndexError):
        raise ApiError(400, error) from None
    if body and not ended and not parts:
        raise ApiError(400, error)
    return parts


SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a larger second part goes to a temporary file


class StreamedParts:
    """multipart/form-data fed chunk by chunk, in bounded memory (a restore body is unlimited): the
    first part is kept up to `first_limit` bytes (more → ApiError(400, `first_too_large`)), the
    second is spooled (in memory up to 8 MiB, then in a temporary file), later ones are dropped.
    Malformed input → ApiError(400, error). Close it (or use it in a `with`)."""

    def __init__(self, boundary: bytes, error: str, first_limit: int, first_too_large: str) -> None:
        self._error = error
        self.count = 0
        self.first = bytearray()
        self.second: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        self.second_size = 0
        self._ended = False
        self._seen = False

        def on_part_begin() -> None:
            self.count += 1

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if self.count == 1:
                self.first += data[start:end]
                if len(self.first) > first_limit:
                    raise ApiError(400, first_too_large)
            elif self.count == 2:
                self.second.write(data[start:end])
                self.second_size += end - start

        def on_end() -> None:
            self._ended = True

        callbacks = {"on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_end": on_end}
        try:
            self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        except (MultipartParseError, ValueError, IndexError):
            self.close()
            raise ApiError(400, error) from None

    def feed(self, chunk: bytes) -> None:
        self._seen = self._seen or bool(chunk)
        try:
            self._parser.write(chunk)
        except (MultipartParseError, ValueError, IndexError):
            raise ApiError(400, self._error) from None

    def finish(self) -> None:
        try:
            self._parser.finalize()
        except (MultipartParseError, ValueError, IndexError):
            raise ApiError(400, self._error) from None
        if self._seen and not self._ended and not self.count:
            raise ApiError(400, self._error)

    def head_of_second(self, size: int) -> bytes:
        self.second.seek(0)
        return self.second.read(size)

    def second_bytes(self) -> bytes:
        self.second.seek(0)
        return self.second.read()

    def close(self) -> None:
        self.second.close()

    def __enter__(self) -> StreamedParts:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
