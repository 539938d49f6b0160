"""The emulator's Starlette app: routing like keyfender and webmachine's order of checks, then handlers."""

from __future__ import annotations

import base64
import binascii
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import unquote

from python_multipart.multipart import parse_options_header
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hsmconsole.emulator import handlers_config, handlers_device, handlers_keys, handlers_users
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import (
    OCTET,
    AppState,
    Auth,
    Ctx,
    Op,
    Resource,
    error_response,
    json_response,
    valid_user_id,
)
from hsmconsole.emulator.hsm import DeviceState, Hsm, UserRecord

__all__ = ["AppState", "build_app"]

log = logging.getLogger("hsmconsole.emulator")

PREFIX = "/api/v1"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "OPTIONS"})
MAX_URI = 2000


@dataclass(frozen=True)
class _Pattern:
    segments: tuple[str, ...]  # literal, or "{name}" for a parameter
    resource: Resource

    @property
    def literals(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for want, got in zip(self.segments, parts, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


def _patterns() -> list[_Pattern]:
    table: dict[str, Resource] = {}
    for module in (handlers_device, handlers_users, handlers_keys, handlers_config):
        table.update(module.RESOURCES)
    patterns = [_Pattern(tuple(p.strip("/").split("/")), r) for p, r in table.items()]
    # Literal segments win over parameters (/keys/generate before /keys/{id}).
    return sorted(patterns, key=lambda p: -p.literals)


class _Stop(Exception):
    """A check of the flow answered; carries the response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _split_path(raw_path: bytes) -> list[str] | None:
    """Path segments after /api/v1, percent-decoded one by one; one trailing slash is ignored and an
    empty segment in the middle stays an empty id, like the device's router."""
    path = raw_path.decode("latin-1")
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    rest = path[len(PREFIX) :]
    if rest in ("", "/"):
        return None
    parts = [unquote(p, errors="replace") for p in rest[1:].split("/")]
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


def _media_type(value: str) -> str | None:
    """The lower-cased `type/subtype` of a Content-Type value, None if it is not one."""
    mtype = parse_options_header(value)[0].decode("latin-1").strip()
    if mtype.count("/") != 1 or not all(mtype.split("/")):
        return None
    return mtype


def _quality(options: dict[bytes, bytes]) -> float:
    for name, value in options.items():
        if name.lower() == b"q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _negotiate(accept_values: list[str], provides: tuple[str, ...]) -> str | None:
    """Webmachine's choice: no Accept → first provided type; else the best acceptable one."""
    if not accept_values:
        return provides[0]
    ranges: list[tuple[float, str]] = []
    for value in accept_values:
        for item in value.split(","):
            if not item.strip():
                continue
            media, options = parse_options_header(item)
            ranges.append((_quality(options), media.decode("latin-1").strip()))
    for q, rng in sorted(ranges, key=lambda r: -r[0]):
        if q <= 0:
            continue
        for mtype in provides:
            major = mtype.split("/")[0]
            if rng in ("*/*", "*", mtype, f"{major}/*"):
                return mtype
    return None


class EmulatorApp:
    """The order of checks (reference §1.2) around the handlers of one Hsm."""

    def __init__(self, hsm: Hsm, state: AppState) -> None:
        self.hsm = hsm
        self.state = state
        self.patterns = _patterns()

    async def endpoint(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await self._flow(request)
        except _Stop as stop:
            response = stop.response
        except ApiError as exc:
            response = error_response(exc.status, exc.message)
        except Exception as exc:
            # Never a traceback or internals to the client; the frames (not the message, which
            # might quote input) go to the server's log so the cause can be fixed.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("internal error on %s %s: %s\n%s", request.method, request.url.path,
                      type(exc).__name__, frames)  # fmt: skip
            response = json_response({"message": "internal error"}, 500)
        response.headers["Date"] = await self._date()
        self._count(response.status_code, time.perf_counter() - started)
        return response

    async def _date(self) -> str:
        try:
            now = await run_in_threadpool(self.hsm.now)
        except Exception:
            now = datetime.now(UTC)
        return format_datetime(now.astimezone(UTC), usegmt=True)

    def _count(self, status: int, elapsed: float) -> None:
        self.state.count(f"http response {status}")
        self.state.count("http total")
        with self.state.lock:
            self.state.response_time_total += elapsed

    def _route(self, request: Request) -> tuple[Resource, dict[str, str]]:
        parts = _split_path(request.scope.get("raw_path") or request.url.path.encode())
        if parts is not None:
            for pattern in self.patterns:
                params = pattern.match(parts)
                if params is not None:
                    return pattern.resource, params
        raise _Stop(Response(b"Not found", status_code=404))

    async def _flow(self, request: Request) -> Response:
        resource, params = self._route(request)
        state: DeviceState = await run_in_threadpool(lambda: self.hsm.state)
        try:
            response = await self._checked(request, resource, params, state)
        except ApiError as exc:
            response = error_response(exc.status, exc.message)
        except _Stop as stop:
            response = stop.response
        if resource.no_cache:
            response.headers["Cache-control"] = "no-cache"
        return response

    async def _checked(
        self, request: Request, resource: Resource, params: dict[str, str], state: DeviceState
    ) -> Response:
        if state not in resource.states:
            return json_response({"message": "Service not available"}, 412)
        method = request.method.upper()
        if method not in KNOWN_METHODS:
            return Response(b"", status_code=501)
        uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if len(uri) > MAX_URI:
            return Response(b"", status_code=414)
        op = resource.ops.get(method)
        if op is None:
            return Response(b"", status_code=405, headers={"Allow": ", ".join(resource.ops)})
        user = None
        if op.auth(state) is Auth.USER:
            user = await self._authenticate(request)
            if op.authorize is None or not await run_in_threadpool(op.authorize, self.hsm, user, params):
                return Response(b"", status_code=403)
        self._check_content_type(request, op)
        body = await self._read_body(request, op)
        if _negotiate(request.headers.getlist("accept"), op.provides) is None:
            return Response(b"", status_code=406)
        client = request.client.host if request.client else ""
        ctx = Ctx(request, self.hsm, params, body, user, self.state, client)
        return await op.handler(ctx)

    async def _authenticate(self, request: Request) -> UserRecord:
        header = request.headers.get("authorization")
        if header is None:
            raise _Stop(_unauthorized("NetHSM"))
        user_id, passphrase = _basic_credentials(header)
        client = request.client.host if request.client else ""
        limiter = self.state.limiter
        if limiter.blocked(client, user_id):
            raise _Stop(json_response({"message": "Too many requests"}, 429))
        user = await run_in_threadpool(self.hsm.authenticate, user_id, passphrase)
        if user is None:
            limiter.record_failure(client, user_id)
            raise _Stop(_unauthorized("invalid authorization"))
        return user

    @staticmethod
    def _check_content_type(request: Request, op: Op) -> None:
        if op.accepts is None:
            return
        header = request.headers.get("content-type")
        if header is None:
            if op.content_type_required:
                raise _Stop(Response(b"", status_code=415))
            header = OCTET
        mtype = _media_type(header)
        if mtype is None or ("*" not in op.accepts and mtype not in op.accepts):
            raise _Stop(Response(b"", status_code=415))

    @staticmethod
    async def _read_body(request: Request, op: Op) -> bytes:
        if op.streamed:
            return b""
        limit = op.body_limit
        declared = request.headers.get("content-length")
        if limit is not None and declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                raise _Stop(Response(b"", status_code=413))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if limit is not None and size > limit:
                raise _Stop(Response(b"", status_code=413))
            chunks.append(chunk)
        return b"".join(chunks)


def _unauthorized(realm: str) -> Response:
    return Response(b"", status_code=401, headers={"WWW-Authenticate": f'Basic realm="{realm}"'})


def _basic_credentials(header: str) -> tuple[str, str]:
    """(user id, passphrase) from a Basic header; anything malformed → 401 'invalid authorization'."""
    if not header.startswith("Basic "):
        raise _Stop(_unauthorized("invalid authorization"))
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _Stop(_unauthorized("invalid authorization")) from None
    user_id, sep, passphrase = decoded.partition(":")
    if not sep:
        raise _Stop(_unauthorized("invalid authorization"))
    try:
        valid_user_id(user_id)
    except ApiError:
        raise _Stop(_unauthorized("invalid authorization")) from None
    return user_id, passphrase


class _AsgiEndpoint:
    """The ASGI callable behind every path and method (unknown ones included)."""

    def __init__(self, emulator: EmulatorApp) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.emulator.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def build_app(hsm: Hsm, state: AppState | None = None) -> Starlette:
    """The ASGI app serving `hsm` under /api/v1. `state` carries the server's hooks."""
    emulator = EmulatorApp(hsm, state or AppState())
    # No Starlette route patterns: their regexes miss paths with a newline (%0A) and would answer
    # Starlette's own 404. Every request goes to the router's default, our keyfender-like router.
    app = Starlette(routes=[])
    app.router.redirect_slashes = False
    app.router.default = _AsgiEndpoint(emulator)
    app.state.emulator = emulator
    return app

