"""ApiError: a device answer that is not a success, raised by the model and rendered by the HTTP app."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer. `message=None` means an empty body (webmachine-produced errors:
    401, 403 role/namespace, 404 missing resource, 405, 406, 413, 414, 415); a string means the
    keyfender JSON body `{"message": ...}` with Content-Type application/json."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(f"{status} {message or ''}".strip())
        self.status = status
        self.message = message
