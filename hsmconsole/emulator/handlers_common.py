"""What every emulator handler shares: the request context, resource specs, responses, strict JSON."""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.hsm import DeviceState, Hsm, Role, UserRecord
from hsmconsole.emulator.ratelimit import RateLimiter

T = TypeVar("T")

JSON = "application/json"
PEM = "application/x-pem-file"
OCTET = "application/octet-stream"
MULTIPART = "multipart/form-data"

MIB = 1024 * 1024
BODY_LIMIT = MIB
CRYPTO_BODY_LIMIT = 67 * MIB

ALL_STATES = frozenset(DeviceState)
OPERATIONAL = frozenset({DeviceState.OPERATIONAL})


class Auth(enum.Enum):
    """Whether an operation needs HTTP Basic credentials in a given device state."""

    PUBLIC = "public"
    USER = "user"


@dataclass
class Ctx:
    """One request as a handler sees it, after the order of checks has passed."""

    request: Request
    hsm: Hsm
    params: dict[str, str]
    body: bytes
    user: UserRecord | None
    app: AppState
    client_ip: str

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (possibly slow, lock-taking) model call off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    @property
    def caller_ns(self) -> str:
        return self.user.namespace if self.user is not None else ""

    def json_body(self, record: str) -> dict[str, Any]:
        return parse_json_object(self.body, record)


def _nothing() -> None:
    return None


@dataclass
class AppState:
    """What lives as long as the app: hooks to whoever runs it (the server), rate limits, metrics."""

    tls_changed: Callable[[], None] = _nothing
    powered_off: Callable[[], None] = _nothing
    limiter: RateLimiter = field(default_factory=RateLimiter)
    started: float = field(default_factory=time.monotonic)
    # Metrics of the device (§6.1): key-use counts and HTTP status counts, as integers here.
    counters: dict[str, int] = field(default_factory=dict)
    response_time_total: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, by: int = 1) -> None:
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + by


Handler = Callable[[Ctx], Awaitable[Response]]
# authorize(hsm, user, params, method) -> allowed; runs in a worker thread (model calls lock).
Authorizer = Callable[[Hsm, UserRecord, dict[str, str]], bool]
AuthPolicy = Callable[[DeviceState], Auth]


def always_user(_state: DeviceState) -> Auth:
    return Auth.USER


def always_public(_state: DeviceState) -> Auth:
    return Auth.PUBLIC


@dataclass(frozen=True)
class Op:
    """One method of one resource, with what webmachine would check before the handler runs."""

    handler: Handler
    authorize: Authorizer | None = None
    auth: AuthPolicy = always_user
    # Media types accepted for the request body; None = the body is not negotiated (no 415).
    accepts: tuple[str, ...] | None = None
    # A missing Content-Type is refused (not defaulted to octet-stream) where the device does so.
    content_type_required: bool = False
    provides: tuple[str, ...] = (JSON,)
    body_limit: int | None = BODY_LIMIT
    # The handler reads the request stream itself (ctx.body stays empty): bodies without a limit.
    streamed: bool = False


@dataclass(frozen=True)
class Resource:
    states: frozenset[DeviceState]
    ops: dict[str, Op]
    no_cache: bool = False


# --- responses -------------------------------------------------------------------------------


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_response(status: int, message: str | None) -> Response:
    """Keyfender errors carry a JSON message; webmachine's own errors have an empty body."""
    if message is None:
        return Response(b"", status_code=status)
    return json_response({"message": message}, status)


def no_content() -> Response:
    # Webmachine keeps the negotiated type on 204s.
    return Response(b"", status_code=204, media_type=JSON)


def not_modified() -> Response:
    return Response(b"", status_code=304)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# --- validation (json.ml) --------------------------------------------------------------------

_ID_CHARS = re.compile(r"[A-Za-z0-9_.\-]*")


def valid_id(text: str) -> str:
    """The device's `valid_id`: raises ApiError(400) with its messages, in its order."""
    if len(text) < 1:
        raise bad_request("ID cannot be shorter than 1 character.")
    if len(text) > 128:
        raise bad_request("ID cannot be longer than 128 characters.")
    if not text.isascii() or _ID_CHARS.fullmatch(text) is None:
        raise bad_request("ID may only contain alphanumeric characters, underscores, dashes, and dots.")
    if text[0] in "_-.":
        raise bad_request("ID cannot start with underscore, dash, or dot.")
    return text


def valid_user_id(text: str) -> str:
    """`id` or `ns~id`, both halves checked as ids."""
    if "~" in text:
        ns, uid = text.split("~", 1)
        valid_id(ns)
        valid_id(uid)
    else:
        valid_id(text)
    return text


def valid_passphrase(value: str, name: str) -> str:
    if not 10 <= len(value.encode()) <= 200:
        raise bad_request(f"passphrase {name} is not >= 10 and <= 200 characters")
    return value


def valid_label(value: str) -> str:
    if len(value.encode()) > 32:
        raise bad_request("Label is too long, max 32 bytes")
    return value


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


def decode_time(text: str) -> datetime:
    """RFC 3339 with offset 0 only (json.ml `decode_time`)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise bad_request(
            f"Failed to decode timestamp: invalid RFC 3339 timestamp at position 0 to {len(text)}."
        )
    if m.group(8) not in ("Z", "z", "+00:00", "-00:00"):
        raise bad_request("Error while parsing timestamp. Offset must be 0.")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or ".0")[1:7].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=UTC)
    except ValueError:
        raise bad_request(
            f"Failed to decode timestamp: invalid date at position 0 to {len(text)}."
        ) from None


def decode_b64(text: str, what: str = "data") -> bytes:
    """Base64 as the device reads operation inputs: newlines dropped, strict alphabet."""
    cleaned = text.replace("\n", "").replace("\r", "")
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request(f"Couldn't decode {what} from base64: {exc}") from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_json(body: bytes) -> Any:
    """Yojson-like strictness: one JSON value; the device's 'Invalid JSON' message on failure."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise bad_request("Invalid JSON: Blank input data.")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
        # Lone surrogates (\ud800) decode in Python but are not UTF-8: refuse them here, once.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise bad_request("Invalid JSON: invalid UTF-8 in string.") from None
    except (json.JSONDecodeError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        raise bad_request(f"Invalid JSON: Line 1, bytes {pos}-{pos + 1}:\n{detail}.") from None
    except RecursionError:
        raise bad_request("Invalid JSON: nesting too deep.") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Invalid token '{name}'")


def parse_json_object(body: bytes, record: str) -> dict[str, Any]:
    value = parse_json(body)
    if not isinstance(value, dict):
        raise schema_error(record)
    return value


def schema_error(record: str, fld: str | None = None) -> ApiError:
    path = f"Json.{record}" + (f".{fld}" if fld else "")
    return bad_request(f"Invalid data for JSON schema: {path}.")


class F(enum.Enum):
    """Field types of the strict records."""

    STR = "str"
    INT = "int"
    BOOL = "bool"
    STR_LIST = "str_list"
    OBJ = "obj"
    ANY = "any"
    OPT_STR = "opt_str"  # string or null


def _type_ok(kind: F, value: Any) -> bool:
    if kind is F.STR:
        return isinstance(value, str)
    if kind is F.OPT_STR:
        return value is None or isinstance(value, str)
    if kind is F.INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is F.BOOL:
        return isinstance(value, bool)
    if kind is F.STR_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind is F.OBJ:
        return isinstance(value, dict)
    return True


def strict(
    data: dict[str, Any],
    record: str,
    required: dict[str, F],
    optional: dict[str, F] | None = None,
) -> dict[str, Any]:
    """A ppx_deriving_yojson strict record: unknown fields, missing or mistyped ones → 400."""
    optional = optional or {}
    for key in data:
        if key not in required and key not in optional:
            raise schema_error(record)
    for key, kind in required.items():
        if key not in data or not _type_ok(kind, data[key]):
            raise schema_error(record, key)
    for key, kind in optional.items():
        if key in data and not _type_ok(kind, data[key]):
            raise schema_error(record, key)
    return data


def enum_value(value: Any, allowed: tuple[str, ...], record: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise schema_error(record)
    return value


def parse_role(value: Any) -> Role:
    for role in Role:
        if value == role.value:
            return role
    raise schema_error("role")


# --- authorization helpers (access.ml, endpoint.ml) ------------------------------------------


def has_role(hsm: Hsm, user: UserRecord, role: Role, *, root: bool = False) -> bool:
    """Role matches and the user's namespace exists (an N-user of a missing namespace is powerless)."""
    if user.role is not role:
        return False
    if root and user.namespace:
        return False
    return user.namespace == "" or hsm.namespace_exists(user.namespace)


def role_in(*roles: Role, root: bool = False) -> Authorizer:
    def check(hsm: Hsm, user: UserRecord, _params: dict[str, str]) -> bool:
        return any(has_role(hsm, user, r, root=root) for r in roles)

    return check


R_ADMIN = role_in(Role.ADMINISTRATOR, root=True)
ADMIN = role_in(Role.ADMINISTRATOR)
OPERATOR = role_in(Role.OPERATOR)
ADMIN_OR_OPERATOR = role_in(Role.ADMINISTRATOR, Role.OPERATOR)
