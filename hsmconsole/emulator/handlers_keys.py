"""Handlers for keys: listing, import, generation, metadata, certificates, operations (handler_keys.ml)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from hsmconsole.emulator import keys
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import (
    ADMIN,
    ADMIN_OR_OPERATOR,
    CRYPTO_BODY_LIMIT,
    JSON,
    MULTIPART,
    OCTET,
    OPERATIONAL,
    OPERATOR,
    PEM,
    Ctx,
    F,
    Op,
    Resource,
    b64,
    bad_request,
    decode_b64,
    json_response,
    no_content,
    not_modified,
    parse_json_object,
    schema_error,
    strict,
    valid_id,
    valid_label,
)
from hsmconsole.emulator.hsm import Hsm, Role, UserRecord
from hsmconsole.emulator.multipart import boundary_of, split_parts

SIGN_MODES = ("PKCS1", "PSS_MD5", "PSS_SHA1", "PSS_SHA224", "PSS_SHA256", "PSS_SHA384", "PSS_SHA512",
              "EdDSA", "ECDSA", "BIP340")  # fmt: skip
DECRYPT_MODES = ("RAW", "PKCS1", "OAEP_MD5", "OAEP_SHA1", "OAEP_SHA224", "OAEP_SHA256", "OAEP_SHA384",
                 "OAEP_SHA512", "AES_CBC")  # fmt: skip
ENCRYPT_MODES = ("AES_CBC",)
MULTIPART_ERROR = "Invalid multipart request, must have exactly two parts: json parameters and pem file."
DN_FIELDS = ("countryName", "stateOrProvinceName", "localityName", "organizationName",
             "organizationalUnitName", "emailAddress")  # fmt: skip


# --- records ---------------------------------------------------------------------------------


def _mechanisms(value: Any, record: str) -> list[str]:
    if not isinstance(value, list):
        raise schema_error(record, "mechanisms")
    for m in value:
        if not isinstance(m, str) or m not in keys.MECHANISM_ORDER:
            raise schema_error("mechanism")
    return [m for m in keys.MECHANISM_ORDER if m in value]


def _restrictions(body: dict[str, Any], record: str) -> dict[str, Any]:
    value = body.get("restrictions", {})
    if not isinstance(value, dict) or set(value) - {"tags"}:
        raise schema_error("restrictions")
    tags = value.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise schema_error("restrictions", "tags")
    return {"tags": sorted(set(tags))} if tags else {}


def _label(body: dict[str, Any], record: str) -> str:
    value = body.get("label", "")
    if not isinstance(value, str):
        raise schema_error(record, "label")
    return valid_label(value)


def _key_type(value: Any) -> str:
    if not isinstance(value, str) or value not in keys.KEY_TYPES:
        raise schema_error("key_type")
    return value


def new_record(priv: dict[str, Any], mechanisms: list[str], restrictions: dict[str, Any], label: str,
               ) -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {
        "mechanisms": mechanisms,
        "priv": priv,
        "cert": None,
        "operations": 0,
        "restrictions": restrictions,
    }
    if label:
        record["label"] = label
    return record


def key_json(record: dict[str, Any]) -> dict[str, Any]:
    """GET /keys/{id}: fields in the device's order, optional ones omitted when empty."""
    priv = record["priv"]
    out: dict[str, Any] = {
        "mechanisms": [m for m in keys.MECHANISM_ORDER if m in record["mechanisms"]],
        "type": keys.key_type(priv),
        "operations": record.get("operations", 0),
    }
    public = keys.public_json(priv)
    if public is not None:
        out["public"] = public
    out["restrictions"] = record.get("restrictions") or {}
    if record.get("label"):
        out["label"] = record["label"]
    return out


def _tags_of(record: dict[str, Any]) -> list[str]:
    tags = (record.get("restrictions") or {}).get("tags", [])
    return list(tags)


def usable_by(record: dict[str, Any], user: UserRecord) -> bool:
    """Keys without tags serve every operator of the namespace; tagged keys need a shared tag."""
    tags = _tags_of(record)
    return not tags or bool(set(tags) & set(user.tags))


async def _record(ctx: Ctx, *, message: str | None = None) -> tuple[str, dict[str, Any]]:
    key_id = valid_id(ctx.params["id"])
    record = await ctx.call(ctx.hsm.get_key, ctx.caller_ns, key_id)
    if record is None:
        raise ApiError(404, message)
    return key_id, record


def _created(key_id: str) -> Response:
    return json_response({"id": key_id}, 201, {"Location": f"/api/v1/keys/{key_id}"})


# --- listing ---------------------------------------------------------------------------------


def _list(hsm: Hsm, ns: str, prefix: str | None, label: str | None, user: UserRecord | None,
          ) -> list[str]:  # fmt: skip
    ids = hsm.list_keys(ns)
    if prefix is not None:
        ids = [k for k in ids if k.startswith(prefix)]
    if label is None and user is None:
        return ids
    out = []
    for key_id in ids:
        record = hsm.get_key(ns, key_id)
        if record is None:
            continue
        if label is not None and record.get("label", "") != label:
            continue
        if user is not None and not usable_by(record, user):
            continue
        out.append(key_id)
    return out


async def list_keys(ctx: Ctx) -> Response:
    query = ctx.request.query_params
    label = query.get("label")
    # `filter` is a presence flag; administrators see every key anyway.
    tag_user = ctx.user if "filter" in query and ctx.user and ctx.user.role is Role.OPERATOR else None
    ids = await ctx.call(_list, ctx.hsm, ctx.caller_ns, None, label, tag_user)
    return json_response([{"id": k} for k in ids])


async def get_key(ctx: Ctx) -> Response:
    raw = ctx.params["id"]
    if raw.endswith("*"):
        prefix = valid_id(raw[:-1])
        label = ctx.request.query_params.get("label")
        ids = await ctx.call(_list, ctx.hsm, ctx.caller_ns, prefix, label, None)
        return json_response([{"id": k} for k in ids])
    _, record = await _record(ctx)
    return json_response(await ctx.call(key_json, record))


# --- import and generate ---------------------------------------------------------------------


def _from_json(ctx: Ctx) -> dict[str, Any]:
    body = parse_json_object(ctx.body, "private_key_req")
    strict(body, "private_key_req", {"mechanisms": F.ANY, "type": F.ANY, "private": F.OBJ},
           {"restrictions": F.ANY, "label": F.ANY})  # fmt: skip
    mechanisms = _mechanisms(body["mechanisms"], "private_key_req")
    key_type = _key_type(body["type"])
    private = strict(body["private"], "key", {},
                     {"primeP": F.STR, "primeQ": F.STR, "publicExponent": F.STR, "data": F.STR})  # fmt: skip
    restrictions = _restrictions(body, "private_key_req")
    label = _label(body, "private_key_req")
    priv = keys.import_json(key_type, private)
    return new_record(priv, mechanisms, restrictions, label)


def _from_multipart(ctx: Ctx, boundary: bytes) -> dict[str, Any]:
    parts = split_parts(ctx.body, boundary, MULTIPART_ERROR)
    if len(parts) != 2:
        raise bad_request(MULTIPART_ERROR)
    args = parse_json_object(parts[0].data, "private_key_pem_req")
    strict(args, "private_key_pem_req", {"mechanisms": F.ANY}, {"restrictions": F.ANY, "label": F.ANY})
    mechanisms = _mechanisms(args["mechanisms"], "private_key_pem_req")
    restrictions = _restrictions(args, "private_key_pem_req")
    label = _label(args, "private_key_pem_req")
    _key_type, priv = keys.import_pem(parts[1].data)
    return new_record(priv, mechanisms, restrictions, label)


def _import_record(ctx: Ctx) -> dict[str, Any]:
    boundary = boundary_of(ctx.request.headers.get("content-type"))
    return _from_multipart(ctx, boundary) if boundary is not None else _from_json(ctx)


async def post_key(ctx: Ctx) -> Response:
    record = await ctx.call(_import_record, ctx)
    key_id = os.urandom(10).hex()
    await ctx.call(ctx.hsm.put_key, ctx.caller_ns, key_id, record, create=True)
    return _created(key_id)


async def put_key(ctx: Ctx) -> Response:
    key_id = valid_id(ctx.params["id"])
    record = await ctx.call(_import_record, ctx)
    await ctx.call(ctx.hsm.put_key, ctx.caller_ns, key_id, record, create=True)
    return no_content()


def _generate(body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    strict(body, "generate_key_req", {"mechanisms": F.ANY, "type": F.ANY},
           {"length": F.INT, "id": F.STR, "restrictions": F.ANY, "label": F.ANY})  # fmt: skip
    mechanisms_raw = body["mechanisms"]
    mechanisms = _mechanisms(mechanisms_raw, "generate_key_req")
    key_type = _key_type(body["type"])
    restrictions = _restrictions(body, "generate_key_req")
    label = _label(body, "generate_key_req")
    length = body.get("length")
    keys.check_generate(key_type, mechanisms, length)
    key_id = body.get("id") or None
    if key_id is not None:
        valid_id(key_id)
    return key_id, {"key_type": key_type, "length": length, "mechanisms": mechanisms,
                    "restrictions": restrictions, "label": label}  # fmt: skip


async def generate(ctx: Ctx) -> Response:
    key_id, spec = _generate(ctx.json_body("generate_key_req"))
    key_id = key_id or os.urandom(10).hex()
    if await ctx.call(ctx.hsm.get_key, ctx.caller_ns, key_id) is not None:
        raise bad_request(f"Key with id {key_id} already exists")
    priv = await ctx.call(keys.generate, spec["key_type"], spec["length"])
    record = new_record(priv, spec["mechanisms"], spec["restrictions"], spec["label"])
    await ctx.call(ctx.hsm.put_key, ctx.caller_ns, key_id, record, create=True)
    ctx.app.count("generate")
    return _created(key_id)


async def delete_key(ctx: Ctx) -> Response:
    key_id, _ = await _record(ctx)
    await ctx.call(ctx.hsm.delete_key, ctx.caller_ns, key_id)
    return no_content()


async def move_key(ctx: Ctx) -> Response:
    key_id, _ = await _record(ctx)
    body = strict(ctx.json_body("move_req"), "move_req", {"newId": F.STR})
    new_id = body["newId"]
    if not new_id:
        raise bad_request("JSON field newId is empty.")
    valid_id(new_id)
    await ctx.call(ctx.hsm.move_key, ctx.caller_ns, key_id, new_id)
    return json_response({"id": new_id})


# --- metadata: label, tags, certificate ------------------------------------------------------
# Each change is one Hsm.update_key call: the record is read and written under the device lock, so
# concurrent changes are not lost and a key deleted meanwhile is not written back (404).

Change = Callable[[dict[str, Any]], dict[str, Any] | None]


async def _update(ctx: Ctx, change: Change, *, missing: str | None = None) -> bool:
    key_id = valid_id(ctx.params["id"])
    return await ctx.call(ctx.hsm.update_key, ctx.caller_ns, key_id, change, missing=missing)


def _without_label(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "label"}


async def put_label(ctx: Ctx) -> Response:
    await _record(ctx, message="key not found")  # the device looks the key up before reading the body
    body = strict(ctx.json_body("label_req"), "label_req", {"label": F.STR})
    label = valid_label(body["label"])

    def change(record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get("label", "") == label:
            return None
        return {**_without_label(record), "label": label} if label else _without_label(record)

    changed = await _update(ctx, change, missing="key not found")
    return no_content() if changed else not_modified()


async def delete_label(ctx: Ctx) -> Response:
    await _update(ctx, lambda record: _without_label(record) if "label" in record else None)
    return no_content()


async def put_key_tag(ctx: Ctx) -> Response:
    valid_id(ctx.params["id"])
    tag = valid_id(ctx.params["tag"])

    def change(record: dict[str, Any]) -> dict[str, Any] | None:
        tags = _tags_of(record)
        if tag in tags:
            return None
        return {**record, "restrictions": {"tags": sorted({*tags, tag})}}

    changed = await _update(ctx, change, missing="key not found")
    return no_content() if changed else not_modified()


async def delete_key_tag(ctx: Ctx) -> Response:
    valid_id(ctx.params["id"])
    tag = valid_id(ctx.params["tag"])

    def change(record: dict[str, Any]) -> dict[str, Any]:
        tags = _tags_of(record)
        if tag not in tags:
            raise ApiError(404)
        rest = [t for t in tags if t != tag]
        return {**record, "restrictions": {"tags": rest} if rest else {}}

    await _update(ctx, change)
    return no_content()


async def public_pem(ctx: Ctx) -> Response:
    _, record = await _record(ctx)
    pem = await ctx.call(keys.public_pem, record["priv"])
    return Response(pem.encode(), media_type=PEM)


def parse_dn(ctx: Ctx) -> dict[str, Any]:
    """The distinguished-name JSON of the CSR endpoints (handler_keys/config)."""
    optional: dict[str, F] = dict.fromkeys(DN_FIELDS, F.STR)
    optional["subjectAltNames"] = F.STR_LIST
    body = strict(ctx.json_body("subject_req"), "subject_req", {"commonName": F.STR}, optional)
    if not body["commonName"]:
        raise bad_request("JSON field commonName is empty.")
    return body


async def csr_pem(ctx: Ctx) -> Response:
    _, record = await _record(ctx)
    dn = parse_dn(ctx)
    pem = await ctx.call(keys.csr_pem, record["priv"], dn)
    return Response(pem.encode(), media_type=PEM)


async def get_cert(ctx: Ctx) -> Response:
    _, record = await _record(ctx)
    if not record.get("cert"):
        raise ApiError(404)
    return Response(record["cert"][1], media_type=OCTET)


async def put_cert(ctx: Ctx) -> Response:
    cert = [OCTET, ctx.body]  # raw bytes in the record, as the device stores them

    def change(record: dict[str, Any]) -> dict[str, Any]:
        if record.get("cert"):
            raise ApiError(409, "Key already contains a certificate")
        return {**record, "cert": cert}

    await _update(ctx, change, missing="keyID not found")
    return Response(b"", status_code=201, media_type=JSON)


async def delete_cert(ctx: Ctx) -> Response:
    def change(record: dict[str, Any]) -> dict[str, Any]:
        if not record.get("cert"):
            raise ApiError(404, "There is no certificate for this KeyID.")
        return {**record, "cert": None}

    await _update(ctx, change)
    return no_content()


# --- operations ------------------------------------------------------------------------------


async def _operation_prelude(ctx: Ctx, record_name: str, data_field: str, modes: tuple[str, ...],
                             ) -> tuple[str, dict[str, Any], str, bytes, bytes | None]:  # fmt: skip
    key_id, record = await _record(ctx)
    optional = {"iv": F.STR} if record_name != "sign_req" else {}
    body = strict(ctx.json_body(record_name), record_name, {"mode": F.ANY, data_field: F.STR}, optional)
    if body["mode"] not in modes:
        raise schema_error(record_name, "mode")
    assert ctx.user is not None
    if not usable_by(record, ctx.user):
        raise ApiError(403, "tags restriction not met")
    data = decode_b64(body[data_field])
    iv = decode_b64(body["iv"]) if "iv" in body else None
    return key_id, record, body["mode"], data, iv


async def sign(ctx: Ctx) -> Response:
    key_id, record, mode, message, _ = await _operation_prelude(ctx, "sign_req", "message", SIGN_MODES)
    signature = await ctx.call(keys.sign, record["priv"], record["mechanisms"], mode, message)
    await ctx.call(ctx.hsm.count_operation, ctx.caller_ns, key_id)
    ctx.app.count("sign")
    return json_response({"signature": b64(signature)})


async def decrypt(ctx: Ctx) -> Response:
    key_id, record, mode, data, iv = await _operation_prelude(ctx, "decrypt_req", "encrypted", DECRYPT_MODES)
    plain = await ctx.call(keys.decrypt, record["priv"], record["mechanisms"], mode, data, iv)
    await ctx.call(ctx.hsm.count_operation, ctx.caller_ns, key_id)
    ctx.app.count("decrypt")
    return json_response({"decrypted": b64(plain)})


async def encrypt(ctx: Ctx) -> Response:
    key_id, record, mode, data, iv = await _operation_prelude(ctx, "encrypt_req", "message", ENCRYPT_MODES)
    encrypted, used_iv = await ctx.call(keys.encrypt, record["priv"], record["mechanisms"], mode, data, iv)
    await ctx.call(ctx.hsm.count_operation, ctx.caller_ns, key_id)
    ctx.app.count("encrypt")
    return json_response({"encrypted": b64(encrypted), "iv": b64(used_iv)})


IMPORT_TYPES = (JSON, MULTIPART)
TAG_TYPES = (JSON, OCTET)


def _crypto(handler: Any) -> Op:
    return Op(handler, authorize=OPERATOR, body_limit=CRYPTO_BODY_LIMIT)


RESOURCES: dict[str, Resource] = {
    "/keys": Resource(
        OPERATIONAL,
        {
            "GET": Op(list_keys, authorize=ADMIN_OR_OPERATOR),
            "POST": Op(post_key, authorize=ADMIN, accepts=IMPORT_TYPES, content_type_required=True),
        },
    ),
    "/keys/generate": Resource(
        OPERATIONAL, {"POST": Op(generate, authorize=ADMIN, accepts=(JSON,))}
    ),
    "/keys/{id}": Resource(
        OPERATIONAL,
        {
            "GET": Op(get_key, authorize=ADMIN_OR_OPERATOR),
            "PUT": Op(put_key, authorize=ADMIN, accepts=IMPORT_TYPES, content_type_required=True),
            "DELETE": Op(delete_key, authorize=ADMIN),
        },
    ),
    "/keys/{id}/label": Resource(
        OPERATIONAL,
        {
            "PUT": Op(put_label, authorize=ADMIN, accepts=(JSON,)),
            "DELETE": Op(delete_label, authorize=ADMIN),
        },
    ),
    "/keys/{id}/public.pem": Resource(
        OPERATIONAL, {"GET": Op(public_pem, authorize=ADMIN_OR_OPERATOR, provides=(PEM,))}
    ),
    "/keys/{id}/csr.pem": Resource(
        OPERATIONAL, {"POST": Op(csr_pem, authorize=ADMIN_OR_OPERATOR, provides=(PEM,))}
    ),
    "/keys/{id}/sign": Resource(OPERATIONAL, {"POST": _crypto(sign)}),
    "/keys/{id}/decrypt": Resource(OPERATIONAL, {"POST": _crypto(decrypt)}),
    "/keys/{id}/encrypt": Resource(OPERATIONAL, {"POST": _crypto(encrypt)}),
    "/keys/{id}/cert": Resource(
        OPERATIONAL,
        {
            "GET": Op(get_cert, authorize=ADMIN_OR_OPERATOR, provides=(OCTET,)),
            "PUT": Op(put_cert, authorize=ADMIN, accepts=(OCTET,)),
            "DELETE": Op(delete_cert, authorize=ADMIN),
        },
    ),
    "/keys/{id}/move": Resource(OPERATIONAL, {"POST": Op(move_key, authorize=ADMIN)}),
    "/keys/{id}/restrictions/tags/{tag}": Resource(
        OPERATIONAL,
        {
            "PUT": Op(put_key_tag, authorize=ADMIN, accepts=TAG_TYPES),
            "DELETE": Op(delete_key_tag, authorize=ADMIN),
        },
    ),
}
