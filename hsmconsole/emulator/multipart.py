"""multipart/form-data split into parts by position, raw bytes kept (the device ignores part names)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError, IndexError):
        raise ApiError(400, error) from None
    if body and not ended and not parts:
        raise ApiError(400, error)
    return parts
