"""Contract fuzzing: schemathesis drives the official NetHSM spec against the running emulator over HTTPS.

Three device states (Unprovisioned, Locked, Operational with the root administrator's credentials).
Every answer must be free of server errors and conform to the spec's status codes, content types
and response schemas, except where the real device itself departs from the spec (reference §1.2,
§3, §5, §6): `departure` names each such case and checks its exact shape instead.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nethsm
import pytest
import requests
import schemathesis
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, settings
from requests.adapters import HTTPAdapter
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hsmconsole.device.tls import fetch_certificate, fingerprint_of, pin_sdk
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.statelock import LOCK_FILE
from hsmconsole.errors import ConnectionFailed
from tests.paths import SPEC

pytestmark = pytest.mark.slow

UNLOCK = "unlockunlock"
ADMIN = ("admin", "adminadmin")
# Small enough for the whole module to run in well under three minutes on two cores.
MAX_EXAMPLES = 8
FULL_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

Case = schemathesis.Case[Any]
schema: schemathesis.BaseSchema = schemathesis.openapi.from_path(SPEC)
# PEM bodies (certificates, key files in multipart imports) are text on the wire.
schemathesis.serializer.alias("application/x-pem-file", "text/plain")

# Operations that take nothing to fuzz but end the state under test, or power the device off.
# Each is covered with exact assertions in test_sdk_sections.py.
STATE_ENDERS = [
    ("POST", "/system/shutdown"),
    ("POST", "/lock"),
    ("POST", "/system/reboot"),
    ("POST", "/system/factory-reset"),
]


# Where the real device answers differently from its own spec (reference §1.2, §3, §5, §6, §10):
# statuses the spec does not list for an operation but the device sends by design. Such answers
# are checked here for their exact shape instead of by schemathesis' status/schema checks.
def departure(case: Case, status: int, body: bytes) -> str | None:
    if str(status) in case.operation.responses.status_codes:
        return None
    has_path_params = "{" in case.operation.path
    takes_body = case.method.upper() in {"PUT", "POST"}
    if status == 415 and takes_body:
        # §1.2 step 5: a PUT or create-POST without (or with a foreign) Content-Type → 415, empty body.
        assert body == b"", body
        return "415 for an unaccepted Content-Type (§1.2)"
    if status == 400 and (takes_body or has_path_params or case.query):
        # §5: invalid ids in the path, invalid JSON or schema mismatches → 400 with a JSON message,
        # also on operations whose spec omits 400.
        assert isinstance(json.loads(body).get("message"), str), body
        return "400 with a message for invalid input (§5)"
    if status == 404 and has_path_params:
        # §6.5: e.g. PUT /keys/{id}/cert or /label on a missing key → 404; the spec omits it there.
        assert body == b"" or isinstance(json.loads(body).get("message"), str), body
        return "404 for a missing resource (§6.5)"
    if status == 429 and case.operation.path == "/unlock":
        # §3: one failed unlock rate-limits /unlock for a second; the spec lists no 429.
        assert json.loads(body) == {"message": "Service unavailable: too many requests"}, body
        return "429 after a failed unlock (§3)"
    return None


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


def off_spec_method(case: Case, status: int) -> str | None:
    """Methods the spec does not define for a path (schemathesis probes them): the device's webmachine
    answers 412 in the wrong state (§1.2 step 1), 501 for a method it does not know at all and 405 for a
    known one the resource does not allow (step 2). The spec documents neither, so check them here."""
    method = case.method.upper()
    if method == case.operation.method.upper():
        return None
    expected = {412, 501} if method not in KNOWN_METHODS else {405, 412}
    if method in KNOWN_METHODS and case.operation.path == "/keys/{KeyPrefix}*":
        # §1: `/keys/<prefix>*` is routed to `/keys/:id`, so PUT/DELETE there are key operations.
        assert status < 500, status
        return "routed as /keys/{KeyID}"
    assert status in expected, f"{method} {case.operation.path}: {status}, expected one of {expected}"
    return "off-spec method"


class PinnedAdapter(HTTPAdapter):
    """Verify the chain against exactly the emulator's certificate, but not the host name.

    The device's certificate is self-signed with CN=keyfender and no subjectAltName, so no host name
    can match it; trusting that one certificate as the only anchor (verify=<its PEM>) is the pin.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_hostname"] = False
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Target:
    """One emulated device kept in one state for the fuzzer; re-made if a case moved it elsewhere."""

    state: nethsm.State
    workdir: Path
    emulator: EmbeddedEmulator | None = None
    session: requests.Session | None = None
    pem: Path | None = None
    fingerprint: str = ""
    restarts: int = 0
    template: Path | None = None

    def start(self) -> None:
        if self.state is nethsm.State.UNPROVISIONED:
            self.emulator = EmbeddedEmulator()
            self.emulator.start()
        else:
            # A device moved out of its state is replaced by a copy of the one made at first (a
            # state directory: it boots Locked, or Operational through unattended boot, switched
            # off again), so a replacement costs no provisioning (scrypt) and no key generation.
            if self.template is None:
                self.template = self._make_template()
            copy = self.workdir / f"device-{self.restarts}"
            shutil.copytree(self.template, copy, ignore=shutil.ignore_patterns(LOCK_FILE))
            self.emulator = EmbeddedEmulator(copy)
            self.emulator.start()
            if self.state is nethsm.State.OPERATIONAL:
                self.emulator.hsm.set_unattended_boot(False)
            assert self.emulator.hsm.state.value == self.state.value
        self.session = requests.Session()
        self.session.mount("https://", PinnedAdapter())

    def _make_template(self) -> Path:
        template = self.workdir / "template"
        with EmbeddedEmulator(template) as emulator:
            client = nethsm.NetHSM(emulator.host_port)
            pin_sdk(client, emulator.fingerprint)
            client.provision(UNLOCK, ADMIN[1], datetime.now(UTC))
            admin = nethsm.NetHSM(emulator.host_port, nethsm.Authentication(*ADMIN))
            pin_sdk(admin, emulator.fingerprint)
            # Something for the fuzzer to find: the spec's x-test-value ids and the ids
            # hypothesis tries first.
            admin.add_user("operator", nethsm.Role.OPERATOR, "operatoroperator", "operator")
            for key_id in ("0", "myKey1"):
                admin.generate_key(nethsm.KeyType.EC_P256, [nethsm.KeyMechanism.ECDSA_SIGNATURE], 128, key_id)
            if self.state is nethsm.State.OPERATIONAL:
                admin.set_unattended_boot(nethsm.UnattendedBootStatus.ON)
            admin.close()
            client.close()
            emulator.hsm.shutdown()  # a clean power-off; the copies boot from here
        emulator.hsm.close()  # the store closed (checkpointed) before it is copied
        return template

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()
        if self.emulator is not None:
            self.emulator.stop()

    def serves_device_certificate(self) -> bool:
        assert self.emulator is not None
        try:
            served = fingerprint_of(fetch_certificate(self.emulator.host_port))
        except ConnectionFailed:
            return False
        return served == self.emulator.fingerprint

    def brainpool_tls_key(self) -> bool:
        assert self.emulator is not None
        cert = x509.load_der_x509_certificate(self.emulator.hsm.tls_certificate_chain_der()[0])
        key = cert.public_key()
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name.startswith("brainpool")

    def ready(self) -> EmbeddedEmulator:
        """The emulator, back in the target state, with the served certificate pinned."""
        assert self.emulator is not None and self.session is not None
        tls_broken = self.emulator.fingerprint != self.fingerprint and not self.serves_device_certificate()
        if tls_broken or self.emulator.powered_off or self.emulator.hsm.state.value != self.state.value:
            self.stop()
            self.restarts += 1
            self.start()
            assert self.emulator is not None
        if self.emulator.fingerprint != self.fingerprint:
            # POST /config/tls/generate legitimately changes the certificate: pin the new one.
            der = self.emulator.hsm.tls_certificate_chain_der()[0]
            pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            self.pem = self.workdir / f"served-{self.emulator.fingerprint.replace(':', '')}.pem"
            self.pem.write_bytes(pem)
            self.fingerprint = self.emulator.fingerprint
            assert self.session is not None
            self.session.close()
            self.session = requests.Session()
            self.session.mount("https://", PinnedAdapter())
        return self.emulator

    def run(self, case: Case, auth: tuple[str, str] | None = None) -> None:
        emulator = self.ready()
        # 120 s: POST /config/tls/generate with RSA 8192 (the spec's largest length, which the fuzzer
        # tries first) takes 20-40 s on a shared two-core machine, as on a device.
        kwargs: dict[str, Any] = {"verify": str(self.pem), "timeout": 120}
        if auth is not None:
            kwargs["auth"] = auth
        response = case.call(base_url=emulator.url, session=self.session, **kwargs)
        self.check_tls_change()
        if off_spec_method(case, response.status_code):
            return
        if departure(case, response.status_code, response.content):
            case.validate_response(response, checks=[not_a_server_error])
            return
        case.validate_response(response, checks=FULL_CHECKS)

    def check_tls_change(self) -> None:
        """After a TLS key or certificate change, new connections must get the new certificate."""
        assert self.emulator is not None
        if self.emulator.fingerprint == self.fingerprint:
            return
        if not self.serves_device_certificate():
            if self.brainpool_tls_key():
                # Python's TLS client offers no Brainpool signature algorithms, so no handshake can
                # succeed with such a key (as with a real device); ready() replaces the device.
                return
            # ready() replaces the device before the next case, so later operations are unaffected.
            raise AssertionError(
                "after a TLS change, new connections do not get the device's new certificate "
                f"{self.emulator.fingerprint} (wrong certificate or failed handshake)"
            )


def _target(state: nethsm.State, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    target = Target(state, tmp_path_factory.mktemp(state.value.lower()))
    target.start()
    try:
        yield target
    finally:
        target.stop()


@pytest.fixture(scope="module")
def unprovisioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(nethsm.State.UNPROVISIONED, tmp_path_factory)


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(nethsm.State.LOCKED, tmp_path_factory)


@pytest.fixture(scope="module")
def operational(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(nethsm.State.OPERATIONAL, tmp_path_factory)


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    derandomize=True,
)

not_shutdown = schema.exclude(method="POST", path="/system/shutdown")
operational_schema = schema
for _method, _path in STATE_ENDERS:
    operational_schema = operational_schema.exclude(method=_method, path=_path)


@not_shutdown.parametrize()
@FUZZ
def test_unprovisioned(case: Case, unprovisioned: Target) -> None:
    unprovisioned.run(case)


@not_shutdown.parametrize()
@FUZZ
def test_locked(case: Case, locked: Target) -> None:
    locked.run(case)


@operational_schema.parametrize()
@FUZZ
def test_operational_as_admin(case: Case, operational: Target) -> None:
    operational.run(case, auth=ADMIN)
