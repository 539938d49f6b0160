"""The cluster CA on a single-member device (§6.7, §6.9), kept as Nitrokey's testing container does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.conftest import ADMIN, RawClient

PEM_TYPE = {"Content-Type": "application/x-pem-file"}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str, *, is_ca: bool = True) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _device_cert(raw: RawClient, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> bytes:
    """A certificate for the device's own TLS key, issued by `ca` (PEM)."""
    public = serialization.load_pem_public_key(raw.request("GET", "/config/tls/public.pem", auth=ADMIN).body)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name("keyfender")).issuer_name(ca.subject)
        .public_key(public).serial_number(x509.random_serial_number())  # type: ignore[arg-type]
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_cluster_ca_is_kept_when_it_signed_the_tls_certificate(
    provisioned: EmbeddedEmulator, raw: RawClient
) -> None:
    r = raw.request("GET", "/config/tls/cluster-ca.pem", auth=ADMIN)
    assert r.status == 404 and r.json() == {"message": "cluster CA is absent unless configured"}
    ca_key, ca = _ca("cluster CA")
    # The device's self-signed certificate was not issued by it: 412, nothing kept.
    r = raw.request("PUT", "/config/tls/cluster-ca.pem", auth=ADMIN, body=_pem(ca), headers=PEM_TYPE)
    assert r.status == 412, r.body
    assert raw.request("GET", "/config/tls/cluster-ca.pem", auth=ADMIN).status == 404
    # Once the TLS certificate is the CA's, the CA is accepted and read back.
    r = raw.request("PUT", "/config/tls/cert.pem", auth=ADMIN, body=_device_cert(raw, ca_key, ca),
                    headers=PEM_TYPE)  # fmt: skip
    assert r.status == 201, r.body
    raw.repin()
    r = raw.request("PUT", "/config/tls/cluster-ca.pem", auth=ADMIN, body=_pem(ca), headers=PEM_TYPE)
    assert (r.status, r.headers.get("Location")) == (201, "/api/v1/config/tls/cluster-ca.pem"), r.body
    r = raw.request("GET", "/config/tls/cluster-ca.pem", auth=ADMIN)
    assert r.status == 200 and r.content_type == "application/x-pem-file"
    assert x509.load_pem_x509_certificate(r.body) == ca
    # From now on the TLS certificate must stay one the cluster CA signed.
    r = raw.request("POST", "/config/tls/generate", auth=ADMIN, json_body={"type": "EC_P256"})
    assert r.status == 412, r.body
    other_key, other = _ca("another CA")
    r = raw.request("PUT", "/config/tls/cert.pem", auth=ADMIN, body=_device_cert(raw, other_key, other),
                    headers=PEM_TYPE)  # fmt: skip
    assert r.status == 412, r.body
    r = raw.request("PUT", "/config/tls/cert.pem", auth=ADMIN, body=_device_cert(raw, ca_key, ca),
                    headers=PEM_TYPE)  # fmt: skip
    assert r.status == 201, r.body


def test_a_certificate_that_is_no_ca_is_refused(provisioned: EmbeddedEmulator, raw: RawClient) -> None:
    key, leaf = _ca("not a CA", is_ca=False)
    cert = _device_cert(raw, key, leaf)
    assert raw.request("PUT", "/config/tls/cert.pem", auth=ADMIN, body=cert, headers=PEM_TYPE).status == 201
    raw.repin()
    r = raw.request("PUT", "/config/tls/cluster-ca.pem", auth=ADMIN, body=_pem(leaf), headers=PEM_TYPE)
    assert r.status == 400 and "not a CA" in r.json()["message"], r.body  # the spec's "malformed"
    r = raw.request("PUT", "/config/tls/cluster-ca.pem", auth=ADMIN, body=b"junk", headers=PEM_TYPE)
    assert r.status == 400, r.body
    assert raw.request("GET", "/config/tls/cluster-ca.pem", auth=ADMIN).status == 404
