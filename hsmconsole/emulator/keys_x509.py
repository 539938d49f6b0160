"""CSRs and self-signed certificates as the device makes them (reference §6.7 DN JSON, §1 TLS cert)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from hsmconsole.emulator.errors import ApiError

# DN JSON field → attribute, in the order the device adds them (json.ml to_distinguished_name).
_DN_FIELDS: Final[tuple[tuple[str, x509.ObjectIdentifier], ...]] = (
    ("commonName", NameOID.COMMON_NAME),
    ("countryName", NameOID.COUNTRY_NAME),
    ("localityName", NameOID.LOCALITY_NAME),
    ("stateOrProvinceName", NameOID.STATE_OR_PROVINCE_NAME),
    ("organizationName", NameOID.ORGANIZATION_NAME),
    ("organizationalUnitName", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
)
_SAN_FIELD: Final = "subjectAltNames"
_NOT_BEFORE: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_AFTER: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _schema(detail: str) -> ApiError:
    return ApiError(400, f"Invalid data for JSON schema: Json.subject_req{detail}.")


def _parse_dn(dn: dict[str, Any]) -> tuple[dict[str, str], list[str] | None]:
    """The DN JSON checked as the device's strict record parser does, then commonName non-empty."""
    if not isinstance(dn, dict):
        raise _schema("")
    known = {name for name, _ in _DN_FIELDS} | {_SAN_FIELD}
    if any(k not in known for k in dn):
        raise _schema("")
    if "commonName" not in dn:
        raise _schema(".commonName")
    values: dict[str, str] = {}
    for name, _ in _DN_FIELDS:
        value = dn.get(name, "")
        if not isinstance(value, str):
            raise _schema(f".{name}")
        values[name] = value
    sans = dn.get(_SAN_FIELD)
    if sans is not None and not (isinstance(sans, list) and all(isinstance(s, str) for s in sans)):
        raise _schema(f".{_SAN_FIELD}")
    if not values["commonName"]:
        raise ApiError(400, "JSON field commonName is empty.")
    return values, sans


def _subject(values: dict[str, str]) -> x509.Name:
    # The device puts every attribute into one (multi-valued) RDN.
    attributes = [x509.NameAttribute(oid, values[name]) for name, oid in _DN_FIELDS if values[name]]
    return x509.Name([x509.RelativeDistinguishedName(attributes)])


def _san(common_name: str, names: list[str] | None) -> x509.SubjectAlternativeName | None:
    """Omitted → DNS:commonName; [] → none; "IP:<addr>" → IP SAN, else DNS (as OpenSSL and the device)."""
    if names is None:
        return x509.SubjectAlternativeName([x509.DNSName(common_name)])
    if not names:
        return None
    dns: list[x509.GeneralName] = []
    ips: list[x509.GeneralName] = []
    for name in names:
        if name.startswith("IP:"):
            try:
                ips.append(x509.IPAddress(ipaddress.ip_address(name[3:])))
                continue
            except ValueError:
                pass  # not an address: the device keeps the whole entry as a DNS name
        dns.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(dns + ips)


def _hash_for(key: SigningKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def csr_pem_for(key: SigningKey | None, dn: dict[str, Any]) -> str:
    """The CSR PEM; key None (a Generic key) → 400 after the DN has been checked."""
    values, sans = _parse_dn(dn)
    if key is None:
        raise ApiError(400, "Generic keys can't create certificates")
    try:
        builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(values))
        san = _san(values["commonName"], sans)
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        csr = builder.sign(key, _hash_for(key))
    except (ValueError, TypeError) as exc:
        # e.g. a countryName that is not two letters, a non-ASCII DNS name or emailAddress
        raise ApiError(400, f"creating signing request: {exc}") from None
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def self_signed_der_for(key: SigningKey, common_name: str) -> bytes:
    """CN=<common_name>, issuer = subject, no extensions, valid 1970-01-01 … 9999-12-31."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .sign(key, _hash_for(key))
    )
    return cert.public_bytes(serialization.Encoding.DER)
