"""Handlers for the device as a whole: info, health, metrics, random, provisioning, locks, system, cluster."""

from __future__ import annotations

import gc
import hashlib
import os
import time

from starlette.background import BackgroundTask
from starlette.responses import Response

from hsmconsole.backup import format as backupfmt
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import (
    ALL_STATES,
    JSON,
    MULTIPART,
    OCTET,
    OPERATIONAL,
    OPERATOR,
    R_ADMIN,
    Auth,
    Ctx,
    F,
    Op,
    Resource,
    always_public,
    b64,
    bad_request,
    decode_time,
    json_response,
    no_content,
    parse_json_object,
    role_in,
    strict,
    valid_passphrase,
)
from hsmconsole.emulator.hsm import DeviceState, Role
from hsmconsole.emulator.multipart import StreamedParts, boundary_of
from hsmconsole.emulator.ratelimit import UNLOCK_USER

LOCKED_OR_UNPROVISIONED = frozenset({DeviceState.LOCKED, DeviceState.UNPROVISIONED})
OPERATIONAL_OR_FAILED = frozenset({DeviceState.OPERATIONAL, DeviceState.FAILED})
UNPROVISIONED_OR_OPERATIONAL = frozenset({DeviceState.UNPROVISIONED, DeviceState.OPERATIONAL})
NOT_ETCD = "cluster error: backend is not etcd"


def _admin_when_operational(state: DeviceState) -> Auth:
    return Auth.USER if state is DeviceState.OPERATIONAL else Auth.PUBLIC


def etagged(data: dict[str, object], ctx: Ctx) -> Response:
    """GETs with an ETag honour If-None-Match like webmachine (304, empty body)."""
    response = json_response(data)
    etag = hashlib.sha256(bytes(response.body)).hexdigest()[:32]
    quoted = f'"{etag}"'
    inm = ctx.request.headers.get("if-none-match")
    if inm is not None and (inm.strip() == "*" or quoted in [t.strip() for t in inm.split(",")]):
        return Response(b"", status_code=304, headers={"ETag": quoted})
    response.headers["ETag"] = quoted
    return response


async def info(ctx: Ctx) -> Response:
    return etagged({"vendor": "Nitrokey GmbH", "product": "NetHSM"}, ctx)


async def empty_ok(ctx: Ctx) -> Response:
    return Response(b"", status_code=200, media_type=JSON)


async def health_state(ctx: Ctx) -> Response:
    state = await ctx.call(lambda: ctx.hsm.state)
    return json_response({"state": state.value})


async def diagnose(ctx: Ctx) -> Response:
    # No etcd here: the cluster process never runs, and there is no snapshot to describe.
    return json_response({"clusterLogs": [], "clusterState": {"running": False}})


async def metrics(ctx: Ctx) -> Response:
    app = ctx.app
    kv_writes = await ctx.call(lambda: ctx.hsm.kv_writes)
    stats = gc.get_stats()
    with app.lock:
        counters = dict(app.counters)
        total_time = app.response_time_total
    data: dict[str, str] = {
        "uptime": str(int(time.monotonic() - app.started)),
        "log warnings": "0",
        "log errors": "0",
        "gc major bytes": "0",
        "gc major collections": str(stats[-1]["collections"]),
        "gc minor collections": str(sum(s["collections"] for s in stats[:-1])),
        "gc compactions": "0",
        "kv write": str(kv_writes),
    }
    codes = sorted(k for k in counters if k.startswith("http response "))
    for key in codes:
        data[key] = str(counters[key])
    data["http response total"] = str(counters.get("http total", 0))
    data["http response time"] = f"{total_time:.6f}"
    for op in ("generate", "sign", "decrypt", "encrypt"):
        if op in counters:
            data[op] = str(counters[op])
    return json_response(data)


async def random(ctx: Ctx) -> Response:
    body = strict(ctx.json_body("random_req"), "random_req", {"length": F.INT})
    length = body["length"]
    if not 1 <= length <= 1024:
        raise bad_request("Invalid data for JSON schema: length must be between 1 and 1024.")
    return json_response({"random": b64(os.urandom(length))})


async def provision(ctx: Ctx) -> Response:
    fields = {"unlockPassphrase": F.STR, "adminPassphrase": F.STR, "systemTime": F.STR}
    body = strict(ctx.json_body("provision_req"), "provision_req", fields)
    unlock = valid_passphrase(body["unlockPassphrase"], "unlockPassphrase")
    admin = valid_passphrase(body["adminPassphrase"], "adminPassphrase")
    when = decode_time(body["systemTime"])
    await ctx.call(ctx.hsm.provision, unlock, admin, when)
    return no_content()


async def unlock(ctx: Ctx) -> Response:
    limiter = ctx.app.limiter
    if limiter.blocked(ctx.client_ip, UNLOCK_USER):
        return json_response({"message": "Service unavailable: too many requests"}, 429)
    body = strict(ctx.json_body("passphrase_req"), "passphrase_req", {"passphrase": F.STR})
    try:
        passphrase = valid_passphrase(body["passphrase"], "passphrase")
        await ctx.call(ctx.hsm.unlock, passphrase)
    except ApiError as exc:
        if exc.status in (400, 403):
            limiter.record_failure(ctx.client_ip, UNLOCK_USER)
        raise
    return no_content()


async def lock(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.lock)
    return no_content()


async def system_info(ctx: Ctx) -> Response:
    return etagged(await ctx.call(ctx.hsm.system_info), ctx)


async def reboot(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.reboot)
    return no_content()


async def shutdown(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.shutdown)
    # Answer first, then power off: the device also acknowledges before it goes dark.
    response = no_content()
    response.background = BackgroundTask(ctx.app.powered_off)
    return response


async def factory_reset(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.factory_reset)
    ctx.app.tls_changed()
    return no_content()


async def update(ctx: Ctx) -> Response:
    notes = await ctx.call(ctx.hsm.start_update, ctx.body)
    return json_response({"releaseNotes": notes})


async def commit_update(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.commit_update)
    return no_content()


async def cancel_update(ctx: Ctx) -> Response:
    await ctx.call(ctx.hsm.cancel_update)
    return no_content()


async def backup(ctx: Ctx) -> Response:
    data = await ctx.call(ctx.hsm.backup)
    return Response(data, status_code=200, media_type=OCTET)


async def restore(ctx: Ctx) -> Response:
    boundary = boundary_of(ctx.request.headers.get("content-type"))
    if boundary is None:
        raise bad_request("Body cannot be empty.")
    # Streamed (the body has no size limit, and needs no authentication when Unprovisioned): memory
    # stays bounded however much is sent, and a body that is no backup is refused before loading.
    with StreamedParts(boundary, "Body cannot be empty.", 1024, "Meta data is too large.") as parts:
        async for chunk in ctx.request.stream():
            parts.feed(chunk)
        parts.finish()
        if not parts.count:
            raise bad_request("Body cannot be empty.")
        if parts.count < 2 or not parts.second_size:
            raise bad_request("Backup data cannot be empty.")
        args = parse_json_object(bytes(parts.first), "restore_req")
        strict(args, "restore_req", {}, {"backupPassphrase": F.STR, "systemTime": F.STR})
        when = decode_time(args["systemTime"]) if "systemTime" in args else None
        head = parts.head_of_second(4096)
        try:
            backupfmt.read_header(head)
        except backupfmt.BackupError as exc:
            # The device's first check; only "cut short" may be this head's doing, not the file's.
            if len(head) == parts.second_size or not exc.message.startswith("Unexpected end"):
                raise bad_request(exc.message) from None
        data = parts.second_bytes()
    await ctx.call(ctx.hsm.restore, data, args.get("backupPassphrase"), when)
    ctx.app.tls_changed()
    return no_content()


async def not_etcd(ctx: Ctx) -> Response:
    """Cluster changes on a device whose store is not etcd (the emulator never is)."""
    raise bad_request(NOT_ETCD)


async def cluster_members(ctx: Ctx) -> Response:
    """The emulator is a cluster of one: itself, a voting member at its own address (issue #2)."""
    network = await ctx.call(ctx.hsm.get_network)
    member_id = hashlib.sha256(ctx.hsm.device_id.encode()).hexdigest()[:16]
    member = {
        "id": member_id,
        "name": "default",
        "urls": [f"https://{network['ipAddress']}:2380"],
        "learner": False,
    }
    return json_response([member])


def _restore_auth(state: DeviceState) -> Auth:
    return Auth.USER if state is DeviceState.OPERATIONAL else Auth.PUBLIC


def _failed_is_public(state: DeviceState) -> Auth:
    return Auth.PUBLIC if state is DeviceState.FAILED else Auth.USER


def _never_authenticates(_state: DeviceState) -> Auth:
    # /cluster/force-new wants user `unlock` with the unlock passphrase, in Failed state only,
    # which the emulator (no etcd) never enters: the 412 state check always answers first.
    return Auth.USER


PUBLIC_JSON = Op(info, auth=always_public)
ACCEPTS_JSON = (JSON,)

RESOURCES: dict[str, Resource] = {
    "/info": Resource(ALL_STATES, {"GET": PUBLIC_JSON}),
    "/health/alive": Resource(
        LOCKED_OR_UNPROVISIONED, {"GET": Op(empty_ok, auth=always_public)}, no_cache=True
    ),
    "/health/ready": Resource(OPERATIONAL, {"GET": Op(empty_ok, auth=always_public)}, no_cache=True),
    "/health/state": Resource(ALL_STATES, {"GET": Op(health_state, auth=always_public)}, no_cache=True),
    "/health/diagnose": Resource(
        ALL_STATES, {"GET": Op(diagnose, authorize=R_ADMIN, auth=_admin_when_operational)}
    ),
    "/metrics": Resource(
        OPERATIONAL, {"GET": Op(metrics, authorize=role_in(Role.METRICS))}, no_cache=True
    ),
    "/random": Resource(OPERATIONAL, {"POST": Op(random, authorize=OPERATOR)}, no_cache=True),
    "/provision": Resource(
        frozenset({DeviceState.UNPROVISIONED}), {"POST": Op(provision, auth=always_public)}
    ),
    "/unlock": Resource(frozenset({DeviceState.LOCKED}), {"POST": Op(unlock, auth=always_public)}),
    "/lock": Resource(OPERATIONAL, {"POST": Op(lock, authorize=R_ADMIN)}),
    "/system/info": Resource(OPERATIONAL, {"GET": Op(system_info, authorize=R_ADMIN)}),
    "/system/reboot": Resource(
        OPERATIONAL_OR_FAILED, {"POST": Op(reboot, authorize=R_ADMIN, auth=_failed_is_public)}
    ),
    "/system/shutdown": Resource(
        ALL_STATES, {"POST": Op(shutdown, authorize=R_ADMIN, auth=_admin_when_operational)}
    ),
    "/system/factory-reset": Resource(
        OPERATIONAL_OR_FAILED,
        {"POST": Op(factory_reset, authorize=R_ADMIN, auth=_failed_is_public)},
    ),
    "/system/update": Resource(
        OPERATIONAL, {"POST": Op(update, authorize=R_ADMIN, body_limit=None)}
    ),
    "/system/commit-update": Resource(OPERATIONAL, {"POST": Op(commit_update, authorize=R_ADMIN)}),
    "/system/cancel-update": Resource(OPERATIONAL, {"POST": Op(cancel_update, authorize=R_ADMIN)}),
    "/system/backup": Resource(
        OPERATIONAL,
        {"POST": Op(backup, authorize=role_in(Role.BACKUP, root=True), provides=(OCTET,))},
    ),
    "/system/restore": Resource(
        UNPROVISIONED_OR_OPERATIONAL,
        {
            "POST": Op(
                restore,
                authorize=R_ADMIN,
                auth=_restore_auth,
                body_limit=None,
                streamed=True,
                accepts=(MULTIPART, JSON, OCTET, "*"),
                content_type_required=True,
            )
        },
    ),
    "/cluster/members": Resource(
        OPERATIONAL,
        {
            "GET": Op(cluster_members, authorize=R_ADMIN),
            "POST": Op(not_etcd, authorize=R_ADMIN, accepts=ACCEPTS_JSON),
        },
    ),
    "/cluster/members/{member}": Resource(
        OPERATIONAL,
        {
            "PUT": Op(not_etcd, authorize=R_ADMIN, accepts=ACCEPTS_JSON),
            "DELETE": Op(not_etcd, authorize=R_ADMIN),
        },
    ),
    "/cluster/members/{member}/promote": Resource(
        OPERATIONAL, {"POST": Op(not_etcd, authorize=R_ADMIN)}
    ),
    "/cluster/join": Resource(OPERATIONAL, {"POST": Op(not_etcd, authorize=R_ADMIN)}),
    "/cluster/force-new": Resource(
        frozenset({DeviceState.FAILED}), {"POST": Op(not_etcd, auth=_never_authenticates)}
    ),
}
