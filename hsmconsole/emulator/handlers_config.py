"""Handlers for /config: passphrases, unattended boot, TLS, network, logging, time (handler_config.ml)."""

from __future__ import annotations

import ipaddress
import itertools
from datetime import UTC
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.responses import Response

from hsmconsole.emulator import keys
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.handlers_common import (
    JSON,
    OPERATIONAL,
    PEM,
    R_ADMIN,
    Ctx,
    F,
    Op,
    Resource,
    bad_request,
    decode_time,
    json_response,
    no_content,
    schema_error,
    strict,
    valid_passphrase,
)
from hsmconsole.emulator.handlers_keys import parse_dn

LOG_LEVELS = ("debug", "info", "warning", "error", "app")
NO_CLUSTER_CA = "cluster CA is absent unless configured"


def _schema_text(detail: str) -> ApiError:
    return bad_request(f"Invalid data for JSON schema: {detail}.")


def _passphrase_change(ctx: Ctx) -> tuple[str, str]:
    body = strict(ctx.json_body("passphrase_change_req"), "passphrase_change_req",
                  {"newPassphrase": F.STR, "currentPassphrase": F.STR})  # fmt: skip
    return valid_passphrase(body["newPassphrase"], "passphrase"), body["currentPassphrase"]


async def put_unlock_passphrase(ctx: Ctx) -> Response:
    new, current = _passphrase_change(ctx)
    await ctx.call(ctx.hsm.set_unlock_passphrase, new, current)
    return no_content()


async def put_backup_passphrase(ctx: Ctx) -> Response:
    new, current = _passphrase_change(ctx)
    await ctx.call(ctx.hsm.set_backup_passphrase, new, current)
    return no_content()


async def get_unattended_boot(ctx: Ctx) -> Response:
    on = await ctx.call(ctx.hsm.get_unattended_boot)
    return json_response({"status": "on" if on else "off"})


async def put_unattended_boot(ctx: Ctx) -> Response:
    from hsmconsole.emulator.handlers_common import parse_json

    body = parse_json(ctx.body)
    if not isinstance(body, dict) or list(body) != ["status"] or not isinstance(body["status"], str):
        raise _schema_text("Invalid status data, expected a dictionary with one entry 'status'.")
    if body["status"] not in ("on", "off"):
        raise _schema_text("Invalid status data, expected 'on' or 'off'.")
    await ctx.call(ctx.hsm.set_unattended_boot, body["status"] == "on")
    return no_content()


def _pem(data: bytes) -> Response:
    return Response(data, media_type=PEM)


async def get_tls_public(ctx: Ctx) -> Response:
    key_pem = await ctx.call(ctx.hsm.tls_private_key_pem)
    public = load_pem_private_key(key_pem, password=None).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return _pem(public.public_bytes(serialization.Encoding.PEM, spki))


async def get_tls_cert(ctx: Ctx) -> Response:
    chain = await ctx.call(ctx.hsm.tls_certificate_chain_der)
    pems = [x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM) for der in chain]
    return _pem(b"".join(pems))


def _check_chain(key_pem: bytes, body: bytes) -> list[bytes]:
    try:
        certs = x509.load_pem_x509_certificates(body)
    except ValueError:
        raise bad_request("Invalid certificate: could not decode PEM.") from None
    public = load_pem_private_key(key_pem, password=None).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = public.public_bytes(serialization.Encoding.DER, spki)
    if certs[0].public_key().public_bytes(serialization.Encoding.DER, spki) != mine:
        raise bad_request("public key in certificate does not match private key.")
    for child, parent in itertools.pairwise(certs):
        try:
            child.verify_directly_issued_by(parent)
        except Exception:
            raise bad_request("Invalid certificate chain: verification failed.") from None
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


async def put_tls_cert(ctx: Ctx) -> Response:
    key_pem = await ctx.call(ctx.hsm.tls_private_key_pem)
    chain = await ctx.call(_check_chain, key_pem, ctx.body)
    await _refuse_outside_cluster_ca(ctx, chain[0])
    await ctx.call(ctx.hsm.set_tls_certificate_chain, chain)
    ctx.app.tls_changed()
    return Response(b"", status_code=201, media_type=JSON,
                    headers={"Location": "/api/v1/config/tls/cert.pem"})  # fmt: skip


async def post_tls_csr(ctx: Ctx) -> Response:
    dn = parse_dn(ctx)
    key_pem = await ctx.call(ctx.hsm.tls_private_key_pem)
    pem = await ctx.call(keys.csr_pem, {"PEM": key_pem.decode()}, dn)
    return _pem(pem.encode())


def _new_tls(key_type: str, length: int | None) -> tuple[bytes, bytes]:
    key_pem = keys.generate_tls_key(key_type, length)
    return key_pem, keys.self_signed_certificate_der(key_pem)


async def post_tls_generate(ctx: Ctx) -> Response:
    body = strict(ctx.json_body("tls_generate_key_req"), "tls_generate_key_req",
                  {"type": F.STR}, {"length": F.INT})  # fmt: skip
    if body["type"] not in keys.KEY_TYPES:
        raise schema_error("key_type")
    await _refuse_outside_cluster_ca(ctx, None)
    key_pem, der = await ctx.call(_new_tls, body["type"], body.get("length"))
    await ctx.call(ctx.hsm.set_tls_key_and_cert, key_pem, [der])
    ctx.app.tls_changed()
    return no_content()


async def get_cluster_ca(ctx: Ctx) -> Response:
    pem = await ctx.call(ctx.hsm.get_cluster_ca)
    if pem is None:
        raise ApiError(404, NO_CLUSTER_CA)
    return _pem(pem)


def _cluster_ca_check(body: bytes, tls_chain: list[bytes]) -> bytes:
    """A single-member device keeps a cluster CA as the testing container does (reference §6.7):
    a CA certificate that signed the TLS certificate served now (else 412), stored as PEM."""
    try:
        certs = x509.load_pem_x509_certificates(body)
    except ValueError:
        raise bad_request("Invalid certificate: could not decode PEM.") from None
    ca = certs[0]
    if not _is_ca(ca):
        # The spec: 400 "Certificate malformed", for want of a CA's extensions.
        raise bad_request("Invalid certificate: not a CA certificate (basicConstraints, keyUsage).")
    if not _issued_by(x509.load_der_x509_certificate(tls_chain[0]), ca):
        raise ApiError(412, "The TLS certificate is not signed by the cluster CA.")
    return ca.public_bytes(serialization.Encoding.PEM)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except x509.ExtensionNotFound:
        return False
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return True  # no key usage restriction: any use, certificate signing included


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:
        return False
    return True


async def put_cluster_ca(ctx: Ctx) -> Response:
    chain = await ctx.call(ctx.hsm.tls_certificate_chain_der)
    pem = await ctx.call(_cluster_ca_check, ctx.body, chain)
    await ctx.call(ctx.hsm.set_cluster_ca, pem)
    return Response(b"", status_code=201, media_type=JSON,
                    headers={"Location": "/api/v1/config/tls/cluster-ca.pem"})  # fmt: skip


async def _refuse_outside_cluster_ca(ctx: Ctx, cert_der: bytes | None) -> None:
    """With a cluster CA set, the TLS certificate must stay one it signed (peers check it): a new
    certificate it did not sign, or a new self-signed key, is refused with 412."""
    ca_pem = await ctx.call(ctx.hsm.get_cluster_ca)
    if ca_pem is None:
        return
    ca = x509.load_pem_x509_certificate(ca_pem)
    if cert_der is None or not _issued_by(x509.load_der_x509_certificate(cert_der), ca):
        raise ApiError(412, "The TLS certificate must be signed by the cluster CA.")


def _ipv4(value: Any, record: str, name: str) -> str:
    if not isinstance(value, str):
        raise schema_error(record, name)
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise _schema_text(f"Ipaddr: {value!r} is not an IPv4 address") from None


async def get_network(ctx: Ctx) -> Response:
    return json_response(await ctx.call(ctx.hsm.get_network))


async def put_network(ctx: Ctx) -> Response:
    body = strict(ctx.json_body("network"), "network", {"ipAddress": F.STR, "netmask": F.STR},
                  {"gateway": F.STR, "ipv6": F.ANY})  # fmt: skip
    config: dict[str, Any] = {
        "ipAddress": _ipv4(body["ipAddress"], "network", "ipAddress"),
        "netmask": _ipv4(body["netmask"], "network", "netmask"),
        "gateway": _ipv4(body.get("gateway", "0.0.0.0"), "network", "gateway"),  # noqa: S104
    }
    ipv6 = body.get("ipv6")
    if ipv6 is not None:
        strict(ipv6 if isinstance(ipv6, dict) else {"": 0}, "ipv6", {"cidr": F.STR}, {"gateway": F.OPT_STR})
        try:
            ipaddress.IPv6Interface(ipv6["cidr"])
            if ipv6.get("gateway") is not None:
                ipaddress.IPv6Address(ipv6["gateway"])
        except ValueError:
            raise _schema_text("Ipaddr: invalid IPv6 address") from None
        config["ipv6"] = {"cidr": ipv6["cidr"], "gateway": ipv6.get("gateway")}
    await ctx.call(ctx.hsm.set_network, config)
    return no_content()


async def get_logging(ctx: Ctx) -> Response:
    return json_response(await ctx.call(ctx.hsm.get_logging))


async def put_logging(ctx: Ctx) -> Response:
    body = strict(ctx.json_body("log"), "log", {"ipAddress": F.STR, "port": F.INT, "logLevel": F.STR})
    try:
        ipaddress.ip_address(body["ipAddress"])
    except ValueError:
        raise _schema_text("Ipaddr: invalid IP address") from None
    if not 0 <= body["port"] <= 65535:
        raise schema_error("log", "port")
    if body["logLevel"] not in LOG_LEVELS:
        raise _schema_text(f"Unknown level '{body['logLevel']}'")
    await ctx.call(ctx.hsm.set_logging, dict(body))
    return no_content()


async def get_time(ctx: Ctx) -> Response:
    now = await ctx.call(ctx.hsm.now)
    return json_response({"time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})


async def put_time(ctx: Ctx) -> Response:
    body = strict(ctx.json_body("time_req"), "time_req", {"time": F.STR})
    await ctx.call(ctx.hsm.set_time, decode_time(body["time"]))
    return no_content()


def _admin(handler: Any, **kw: Any) -> Op:
    return Op(handler, authorize=R_ADMIN, **kw)


RESOURCES: dict[str, Resource] = {
    "/config/unlock-passphrase": Resource(
        OPERATIONAL, {"PUT": _admin(put_unlock_passphrase, accepts=(JSON,))}
    ),
    "/config/backup-passphrase": Resource(
        OPERATIONAL, {"PUT": _admin(put_backup_passphrase, accepts=(JSON,))}
    ),
    "/config/unattended-boot": Resource(
        OPERATIONAL,
        {"GET": _admin(get_unattended_boot), "PUT": _admin(put_unattended_boot, accepts=(JSON,))},
    ),
    "/config/tls/public.pem": Resource(OPERATIONAL, {"GET": _admin(get_tls_public, provides=(PEM,))}),
    "/config/tls/cert.pem": Resource(
        OPERATIONAL,
        {
            "GET": _admin(get_tls_cert, provides=(PEM,)),
            "PUT": _admin(put_tls_cert, accepts=(PEM,)),
        },
    ),
    "/config/tls/csr.pem": Resource(OPERATIONAL, {"POST": _admin(post_tls_csr, provides=(PEM,))}),
    "/config/tls/generate": Resource(OPERATIONAL, {"POST": _admin(post_tls_generate)}),
    "/config/tls/cluster-ca.pem": Resource(
        OPERATIONAL,
        {
            "GET": _admin(get_cluster_ca, provides=(PEM,)),
            "PUT": _admin(put_cluster_ca, accepts=(PEM,)),
        },
    ),
    "/config/network": Resource(
        OPERATIONAL, {"GET": _admin(get_network), "PUT": _admin(put_network, accepts=(JSON,))}
    ),
    "/config/logging": Resource(
        OPERATIONAL, {"GET": _admin(get_logging), "PUT": _admin(put_logging, accepts=(JSON,))}
    ),
    "/config/time": Resource(
        OPERATIONAL, {"GET": _admin(get_time), "PUT": _admin(put_time, accepts=(JSON,))}
    ),
}
