"""Config values in their stored encodings (§6.7, §8.1): network, logging, TLS chain, first-boot TLS key."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hsmconsole.emulator.configstore import LOG_LEVELS
from hsmconsole.emulator.errors import ApiError
from hsmconsole.emulator.records import dumps, loads_text

__all__ = [
    "DEFAULT_IP_CONFIG",
    "DEFAULT_LOG_CONFIG",
    "decode_chain",
    "encode_chain",
    "first_boot_tls",
    "log_from_api",
    "log_to_api",
    "network_from_api",
    "network_to_api",
]

# The device's defaults: 192.168.1.1/24 without gateway; no remote syslog, level info.
DEFAULT_IP_CONFIG = dumps({"ipv4": {"cidr": "192.168.1.1/24", "gateway": None}})
DEFAULT_LOG_CONFIG = dumps({"ipAddress": "0.0.0.0", "port": 514, "logLevel": "info"})  # noqa: S104


def _schema(detail: str) -> ApiError:
    return ApiError(400, f"Invalid data for JSON schema: {detail}.")


def encode_chain(chain_der: list[bytes]) -> bytes:
    """certificate config value: (4-byte BE length ‖ DER) for the certificate, then each chain member."""
    return b"".join(len(der).to_bytes(4, "big") + der for der in chain_der)


def decode_chain(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise ValueError("invalid data (no length field)")
        n = int.from_bytes(data[pos : pos + 4], "big")
        if len(data) - pos - 4 < n:
            raise ValueError("invalid data (too short)")
        out.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    if not out:
        raise ValueError("empty certificate chain")
    return out


def first_boot_tls() -> tuple[bytes, list[bytes]]:
    """A fresh P-256 key (PKCS#8 PEM) and its self-signed cert: CN=keyfender, 1970-01-01 … 9999-12-31."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyfender")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(8), "big") >> 1 or 1)
        .not_valid_before(dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, [cert.public_bytes(serialization.Encoding.DER)]


def network_to_api(stored: bytes) -> dict[str, Any]:
    """{"ipv4":{"cidr","gateway"},"ipv6"?} → {"ipAddress","netmask","gateway"[,"ipv6"]}."""
    doc = loads_text(stored)
    iface = ipaddress.IPv4Interface(doc["ipv4"]["cidr"])
    out: dict[str, Any] = {
        "ipAddress": str(iface.ip),
        "netmask": str(iface.netmask),
        "gateway": doc["ipv4"].get("gateway") or "0.0.0.0",  # noqa: S104 - the device's "no gateway"
    }
    if doc.get("ipv6"):
        out["ipv6"] = {"cidr": doc["ipv6"]["cidr"], "gateway": doc["ipv6"].get("gateway")}
    return out


def network_from_api(config: dict[str, Any]) -> bytes:
    try:
        address = ipaddress.IPv4Address(config["ipAddress"])
        netmask = ipaddress.IPv4Address(config["netmask"])
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
        gateway_text = config.get("gateway") or "0.0.0.0"  # noqa: S104
        gateway = ipaddress.IPv4Address(gateway_text)
    except (KeyError, TypeError) as exc:
        raise _schema("Json.network") from exc
    except ValueError as exc:
        raise _schema(f"Ipaddr: {exc}") from exc
    stored: dict[str, Any] = {
        "ipv4": {"cidr": f"{address}/{prefix}", "gateway": None if int(gateway) == 0 else str(gateway)}
    }
    ipv6 = config.get("ipv6")
    if ipv6 is not None:
        try:
            iface6 = ipaddress.IPv6Interface(ipv6["cidr"])
            gw6 = ipv6.get("gateway")
            gw6_text = None if gw6 is None else str(ipaddress.IPv6Address(gw6))
        except (KeyError, TypeError, AttributeError) as exc:
            raise _schema("Json.ipv6") from exc
        except ValueError as exc:
            raise _schema(f"Ipaddr: {exc}") from exc
        stored["ipv6"] = {"cidr": str(iface6), "gateway": gw6_text}
    return dumps(stored)


def log_to_api(stored: bytes) -> dict[str, Any]:
    doc = loads_text(stored)
    return {"ipAddress": doc.get("ipAddress") or "0.0.0.0", "port": doc["port"], "logLevel": doc["logLevel"]}  # noqa: S104


def log_from_api(config: dict[str, Any]) -> bytes:
    try:
        address = ipaddress.ip_address(config["ipAddress"])
        port = config["port"]
        level = config["logLevel"]
    except (KeyError, TypeError) as exc:
        raise _schema("Json.log") from exc
    except ValueError as exc:
        raise _schema(f"Ipaddr: {exc}") from exc
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise _schema("Json.log.port")
    if level not in LOG_LEVELS:
        raise _schema("Json.log.logLevel")
    return dumps({"ipAddress": str(address), "port": port, "logLevel": level})
