"""Handlers for users (with tags and passphrases) and namespaces (handler_users.ml, handler_namespaces.ml)."""

from __future__ import annotations

import os

from starlette.responses import Response

from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import (
    ADMIN,
    JSON,
    OCTET,
    OPERATIONAL,
    R_ADMIN,
    Ctx,
    F,
    Op,
    Resource,
    bad_request,
    has_role,
    json_response,
    no_content,
    not_modified,
    parse_role,
    schema_error,
    strict,
    valid_id,
    valid_passphrase,
    valid_user_id,
)
from hsmconsole.emulator.hsm import Hsm, Role, UserRecord

JSON_OR_NONE = (JSON, OCTET)


def target_ns(user_id: str) -> str:
    return user_id.split("~", 1)[0] if "~" in user_id else ""


def _is_r_admin(hsm: Hsm, user: UserRecord) -> bool:
    return has_role(hsm, user, Role.ADMINISTRATOR, root=True)


def _admin_same_ns_strict(hsm: Hsm, user: UserRecord, params: dict[str, str]) -> bool:
    """Writes to a user: same namespace, except R-Admin over a namespace that does not exist yet."""
    if not has_role(hsm, user, Role.ADMINISTRATOR):
        return False
    ns = target_ns(params["id"])
    if ns == user.namespace:
        return True
    return _is_r_admin(hsm, user) and not hsm.namespace_exists(ns)


def _admin_may_read(hsm: Hsm, user: UserRecord, params: dict[str, str]) -> bool:
    if not has_role(hsm, user, Role.ADMINISTRATOR):
        return False
    return user.namespace == "" or target_ns(params["id"]) == user.namespace


def _operator_self(hsm: Hsm, user: UserRecord, params: dict[str, str]) -> bool:
    return has_role(hsm, user, Role.OPERATOR) and params["id"] == user.user_id


def read_user(hsm: Hsm, user: UserRecord, params: dict[str, str]) -> bool:
    return _admin_may_read(hsm, user, params) or _operator_self(hsm, user, params)


def change_passphrase(hsm: Hsm, user: UserRecord, params: dict[str, str]) -> bool:
    return _admin_same_ns_strict(hsm, user, params) or _operator_self(hsm, user, params)


def _new_id() -> str:
    return os.urandom(10).hex()


def _user_req(ctx: Ctx) -> tuple[str, Role, str]:
    body = strict(
        ctx.json_body("user_req"),
        "user_req",
        {"realName": F.STR, "role": F.ANY, "passphrase": F.STR},
    )
    if not isinstance(body["role"], str):
        raise schema_error("user_req", "role")
    role = parse_role(body["role"])
    return body["realName"], role, valid_passphrase(body["passphrase"], "passphrase")


def _check_create_namespace(ctx: Ctx, new_id: str, ns_exists: bool) -> None:
    assert ctx.user is not None
    ns = target_ns(new_id)
    if ctx.user.namespace:
        if ns != ctx.user.namespace:
            raise ApiError(403, "N-User trying to create user for another namespace")
    elif ns and ns_exists:
        raise ApiError(403, "R-User trying to create N-User for an already created namespace")


async def _create(ctx: Ctx, new_id: str) -> None:
    real_name, role, passphrase = _user_req(ctx)
    ns = target_ns(new_id)
    exists = await ctx.call(ctx.hsm.namespace_exists, ns) if ns else True
    _check_create_namespace(ctx, new_id, exists)
    await ctx.call(ctx.hsm.add_user, new_id, real_name, role, passphrase)


def _created(new_id: str, *, with_body: bool) -> Response:
    headers = {"Location": f"/api/v1/users/{new_id}"}
    if with_body:
        return json_response({"id": new_id}, 201, headers)
    return Response(b"", status_code=201, media_type=JSON, headers=headers)


async def list_users(ctx: Ctx) -> Response:
    ns = None if ctx.caller_ns == "" else ctx.caller_ns
    ids = await ctx.call(ctx.hsm.list_users, ns)
    return json_response([{"user": uid} for uid in ids])


async def post_user(ctx: Ctx) -> Response:
    new_id = f"{ctx.caller_ns}~{_new_id()}" if ctx.caller_ns else _new_id()
    await _create(ctx, new_id)
    return _created(new_id, with_body=True)


async def _existing(ctx: Ctx) -> UserRecord:
    uid = valid_user_id(ctx.params["id"])
    record = await ctx.call(ctx.hsm.get_user, uid)
    if record is None:
        raise ApiError(404)
    return record


async def get_user(ctx: Ctx) -> Response:
    record = await _existing(ctx)
    return json_response({"realName": record.real_name, "role": record.role.value})


async def put_user(ctx: Ctx) -> Response:
    uid = valid_user_id(ctx.params["id"])
    await _create(ctx, uid)
    return _created(uid, with_body=False)


async def post_user_in_namespace(ctx: Ctx) -> Response:
    raw = ctx.params["id"]
    ns, sep, rest = raw.partition("~")
    if not sep or not ns or rest:
        raise bad_request(
            "POST on this endpoint expects a prefix of the form '/ns~' where 'ns' is a namespace ID."
        )
    valid_id(ns)
    new_id = f"{ns}~{_new_id()}"
    await _create(ctx, new_id)
    return _created(new_id, with_body=True)


async def delete_user(ctx: Ctx) -> Response:
    record = await _existing(ctx)
    assert ctx.user is not None
    if record.user_id == ctx.user.user_id:
        raise bad_request("Users cannot delete themselves")
    await ctx.call(ctx.hsm.delete_user, record.user_id)
    return no_content()


async def set_passphrase(ctx: Ctx) -> Response:
    record = await _existing(ctx)
    body = strict(ctx.json_body("passphrase_req"), "passphrase_req", {"passphrase": F.STR})
    passphrase = valid_passphrase(body["passphrase"], "passphrase")
    await ctx.call(ctx.hsm.set_user_passphrase, record.user_id, passphrase)
    return no_content()


async def get_tags(ctx: Ctx) -> Response:
    record = await _existing(ctx)
    if record.role is not Role.OPERATOR:
        raise ApiError(404)
    return json_response(list(record.tags))


async def put_tag(ctx: Ctx) -> Response:
    uid = valid_user_id(ctx.params["id"])
    tag = valid_id(ctx.params["tag"])
    record = await ctx.call(ctx.hsm.get_user, uid)
    if record is None:
        raise ApiError(404, "")
    if record.role is not Role.OPERATOR:
        raise bad_request("tag operations only exist on operator users")
    added = await ctx.call(ctx.hsm.add_user_tag, uid, tag)
    return no_content() if added else not_modified()


async def delete_tag(ctx: Ctx) -> Response:
    uid = valid_user_id(ctx.params["id"])
    tag = valid_id(ctx.params["tag"])
    record = await ctx.call(ctx.hsm.get_user, uid)
    if record is None or tag not in record.tags:
        raise ApiError(404)
    await ctx.call(ctx.hsm.delete_user_tag, uid, tag)
    return no_content()


async def list_namespaces(ctx: Ctx) -> Response:
    names = await ctx.call(ctx.hsm.list_namespaces)
    return json_response([{"id": ns} for ns in names])


async def put_namespace(ctx: Ctx) -> Response:
    ns = valid_id(ctx.params["ns"])
    await ctx.call(ctx.hsm.add_namespace, ns)
    return no_content()


async def delete_namespace(ctx: Ctx) -> Response:
    ns = valid_id(ctx.params["ns"])
    if not await ctx.call(ctx.hsm.namespace_exists, ns):
        raise ApiError(404)
    await ctx.call(ctx.hsm.delete_namespace, ns)
    return no_content()


RESOURCES: dict[str, Resource] = {
    "/users": Resource(
        OPERATIONAL,
        {
            "GET": Op(list_users, authorize=ADMIN),
            "POST": Op(post_user, authorize=ADMIN, accepts=(JSON,)),
        },
    ),
    "/users/{id}": Resource(
        OPERATIONAL,
        {
            "GET": Op(get_user, authorize=read_user),
            "PUT": Op(put_user, authorize=ADMIN, accepts=(JSON,)),
            "POST": Op(post_user_in_namespace, authorize=ADMIN, accepts=(JSON,)),
            "DELETE": Op(delete_user, authorize=_admin_same_ns_strict),
        },
    ),
    "/users/{id}/passphrase": Resource(
        OPERATIONAL, {"POST": Op(set_passphrase, authorize=change_passphrase)}
    ),
    "/users/{id}/tags": Resource(OPERATIONAL, {"GET": Op(get_tags, authorize=read_user)}),
    "/users/{id}/tags/{tag}": Resource(
        OPERATIONAL,
        {
            "PUT": Op(put_tag, authorize=_admin_same_ns_strict, accepts=JSON_OR_NONE),
            "DELETE": Op(delete_tag, authorize=_admin_same_ns_strict),
        },
    ),
    "/namespaces": Resource(OPERATIONAL, {"GET": Op(list_namespaces, authorize=R_ADMIN)}),
    "/namespaces/{ns}": Resource(
        OPERATIONAL,
        {
            "PUT": Op(put_namespace, authorize=R_ADMIN, accepts=JSON_OR_NONE),
            "DELETE": Op(delete_namespace, authorize=R_ADMIN),
        },
    ),
}
