"""Device operations on the NetHSM's own settings: info, clock, network, logging, TLS, update, reset."""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import nethsm
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.tls import fingerprint_of
from hsmconsole.errors import (
    AuthError,
    DeviceError,
    HsmConsoleError,
    InputError,
    IntegrityError,
    StateError,
)

UNATTENDED_OFF = "off"
NO_ADDRESS = "0.0.0.0"  # noqa: S104  (the device's word for "no gateway" / "no remote syslog")
UPLOAD_CHUNK = 64 * 1024

Progress = Callable[[int, int], None]  # (bytes sent, total bytes)


class LogLevel(enum.Enum):
    """Syslog levels the device accepts (reference §5.4; "app" is the device's own extra)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class SystemInfo:
    """GET /info and GET /system/info together. Fields the device did not send are ""."""

    vendor: str
    product: str
    software_version: str
    software_build: str
    firmware_version: str
    hardware_version: str
    device_id: str


@dataclass(frozen=True)
class Ipv6Settings:
    cidr: str  # address/prefix, e.g. 2001:db8::10/64
    gateway: str | None = None


@dataclass(frozen=True)
class NetworkSettings:
    ip_address: str
    netmask: str
    gateway: str = NO_ADDRESS  # 0.0.0.0: no gateway
    ipv6: Ipv6Settings | None = None


@dataclass(frozen=True)
class LoggingSettings:
    ip_address: str  # 0.0.0.0: no remote syslog
    port: int
    level: LogLevel

    @property
    def remote(self) -> bool:
        return self.ip_address not in (NO_ADDRESS, "::")


@dataclass(frozen=True)
class TlsCertificate:
    """The device's TLS certificate as configured (the first of the chain it serves)."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256, colon form, as profiles pin it
    matches_pin: bool | None  # None: the profile pins nothing (insecure)
    pem: str


@dataclass(frozen=True)
class DistinguishedName:
    """Subject of a CSR for the device's TLS key. Empty optional fields are left out."""

    common_name: str
    organization: str = ""
    organizational_unit: str = ""
    country: str = ""
    locality: str = ""
    state_or_province: str = ""
    email_address: str = ""
    subject_alt_names: tuple[str, ...] | None = None  # None: the device adds DNS:<common name>


@dataclass(frozen=True)
class Metric:
    name: str
    value: str


# --- reads ---------------------------------------------------------------------------------------


def read_system_info(client: DeviceClient, admin: Credentials) -> SystemInfo:
    def run(s: nethsm.NetHSM) -> SystemInfo:
        info = s.get_info()
        # The SDK's SystemInfo drops deviceId; the generated client's body keeps every field.
        body = s._get_api().system_info_get().body

        def field(name: str) -> str:
            value = body.get(name)  # every field is text; a missing one is "" rather than a failure
            return value if isinstance(value, str) else ""

        return SystemInfo(
            info.vendor, info.product, field("softwareVersion"), field("softwareBuild"),
            field("firmwareVersion"), field("hardwareVersion"), field("deviceId"),
        )

    return client.call("Read system info", admin, run)


def read_time(client: DeviceClient, admin: Credentials) -> datetime:
    return client.call("Read device time", admin, lambda s: s.get_config_time())


def read_network(client: DeviceClient, admin: Credentials) -> NetworkSettings:
    def run(s: nethsm.NetHSM) -> NetworkSettings:
        n = s.get_config_network()
        v6 = Ipv6Settings(n.ipv6.cidr, n.ipv6.gateway) if n.ipv6 is not None else None
        return NetworkSettings(n.ip_address, n.netmask, n.gateway, v6)

    return client.call("Read network settings", admin, run)


def read_logging(client: DeviceClient, admin: Credentials) -> LoggingSettings:
    def run(s: nethsm.NetHSM) -> LoggingSettings:
        cfg = s.get_config_logging()
        return LoggingSettings(cfg.ip_address, int(cfg.port), LogLevel(cfg.log_level.value))

    return client.call("Read logging settings", admin, run)


def read_unattended_boot(client: DeviceClient, admin: Credentials) -> bool:
    return client.call(
        "Read unattended boot", admin, lambda s: s.get_config_unattended_boot() == "on"
    )


def describe_certificate(pem: str, pinned: str | None) -> TlsCertificate:
    """Subject, validity and fingerprint of the first certificate of a PEM chain."""
    try:
        cert = x509.load_pem_x509_certificates(pem.encode())[0]
    except (ValueError, IndexError):
        raise DeviceError(
            "The device sent a TLS certificate that cannot be read.", "Nothing was changed."
        ) from None
    fingerprint = fingerprint_of(cert.public_bytes(serialization.Encoding.DER))
    return TlsCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint,
        matches_pin=None if pinned is None else pinned == fingerprint,
        pem=pem,
    )


def read_tls_certificate(client: DeviceClient, admin: Credentials) -> TlsCertificate:
    pem = client.call("Read TLS certificate", admin, lambda s: s.get_certificate())
    return describe_certificate(pem, client.profile.fingerprint)


def read_metrics(client: DeviceClient, metrics_user: Credentials) -> tuple[Metric, ...]:
    """GET /metrics: only a user with the Metrics role may read them (an admin gets a 403)."""
    refused = AuthError(
        "Read metrics: only a user with the Metrics role may read the device metrics.",
        "Sign in as a Metrics user (an administrator may not read them).",
    )
    data = client.call("Read metrics", metrics_user, lambda s: dict(s.get_metrics()), {403: refused})
    return tuple(Metric(str(k), str(v)) for k, v in sorted(data.items()))


# --- settings ------------------------------------------------------------------------------------


def set_time(client: DeviceClient, admin: Credentials, when: datetime) -> None:
    if when.tzinfo is None:
        raise InputError("A device time needs a time zone.", "Give it in UTC, ending in Z.")
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.call("Set device time", admin, lambda s: s.set_time(text))


def set_network(client: DeviceClient, admin: Credentials, settings: NetworkSettings) -> None:
    v6 = settings.ipv6
    ipv6 = nethsm.Ipv6Config(v6.cidr, v6.gateway) if v6 is not None else None
    client.call(
        "Change network settings",
        admin,
        lambda s: s.set_network_config(settings.ip_address, settings.netmask, settings.gateway, ipv6),
    )


def set_logging(client: DeviceClient, admin: Credentials, settings: LoggingSettings) -> None:
    level = nethsm.LogLevel.from_string(settings.level.value)
    client.call(
        "Change logging settings",
        admin,
        lambda s: s.set_logging_config(settings.ip_address, settings.port, level),
    )


def set_unattended_boot(client: DeviceClient, admin: Credentials, on: bool) -> None:
    status = nethsm.UnattendedBootStatus.ON if on else nethsm.UnattendedBootStatus.OFF
    client.call("Change unattended boot", admin, lambda s: s.set_unattended_boot(status))


def tls_csr(client: DeviceClient, admin: Credentials, dn: DistinguishedName) -> str:
    """A PEM certificate signing request for the device's current TLS key."""
    if not dn.common_name.strip():
        raise InputError("A CSR needs a common name.", "Give the name clients use for the device.")

    def opt(text: str) -> str | None:
        return text or None

    def run(s: nethsm.NetHSM) -> str:
        return s.csr(
            common_name=dn.common_name, country=opt(dn.country),
            state_or_province=opt(dn.state_or_province), locality=opt(dn.locality),
            organization=opt(dn.organization), organizational_unit=opt(dn.organizational_unit),
            email_address=opt(dn.email_address),
            subject_alt_names=list(dn.subject_alt_names) if dn.subject_alt_names is not None else None,
        )

    return client.call("Make a TLS CSR", admin, run)


# --- update --------------------------------------------------------------------------------------


def _chunks(image: bytes, progress: Progress | None) -> Iterator[bytes]:
    total = len(image)
    view = memoryview(image)
    sent = 0
    if progress is not None:
        progress(0, total)
    while sent < total:
        chunk = bytes(view[sent : sent + UPLOAD_CHUNK])
        sent += len(chunk)
        yield chunk
        if progress is not None:
            progress(sent, total)


def _message(body: bytes) -> str:
    try:
        value = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        return ""
    return str(value) if isinstance(value, str) else ""


def update_refusal(status: int, message: str) -> HsmConsoleError:
    """The device's refusal of an update image, in plain words (reference §6.8)."""
    said = f" The device said: {message}" if message else ""
    if status == 409 and "progress" in message.lower():
        return StateError(
            "An update is already waiting on the device.",
            "Commit it or cancel it first; nothing new was uploaded.",
        )
    if status == 409:
        return InputError(
            f"The device refuses this image: it is an older major version (a downgrade).{said}",
            "Use an image of the same or a newer major version; nothing was changed.",
        )
    if status == 400 and "signature" in message.lower():
        return IntegrityError(
            "The image's signature is not valid: it was not signed with the update key this device "
            "trusts, or it was altered.",
            "Get the image again from its publisher; nothing was changed.",
        )
    if status == 400:
        return InputError(
            f"This file is not an update image the device can read.{said}",
            "Check that it is a NetHSM update image and was copied completely; nothing was changed.",
        )
    if status == 401:
        return AuthError("Upload update: wrong user name or passphrase.", "Check both and retry.")
    if status == 403:
        return AuthError("Upload update: only an administrator may do that.", "")
    if status == 429:
        return AuthError(
            "Upload update: too many failed attempts just now.", "Wait a second and try again."
        )
    if status == 412:
        return StateError(
            "Upload update: the device is not Operational.", "Unlock it first, then try again."
        )
    return DeviceError(f"Upload update: unexpected answer from the device ({status}).{said}", "")


def upload_update(
    client: DeviceClient, admin: Credentials, image: bytes, progress: Progress | None = None
) -> str:
    """POST /system/update in chunks (so `progress` can follow it); returns the release notes. The
    image is pending afterwards until commit_update or cancel_update."""
    if not image:
        raise InputError("The update file is empty.", "Check the file name; nothing was sent.")

    def run(s: nethsm.NetHSM) -> str:
        token = base64.b64encode(f"{admin.user_id}:{admin.passphrase.reveal_str()}".encode()).decode()
        headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(image)),
        }
        del token
        url = f"https://{s.host}/api/{s.version}/system/update"
        # The SDK's update() sends the image in one piece, with no way to follow it; the pool
        # manager is still the pinned, time-limited one pin_sdk installed.
        pool = s.client.rest_client.pool_manager
        try:
            response = pool.request(
                "POST", url, body=_chunks(image, progress), headers=headers, preload_content=True,
            )
        except urllib3.exceptions.MaxRetryError as exc:
            kind = (
                nethsm.RequestErrorType.SSL_ERROR
                if isinstance(exc.reason, urllib3.exceptions.SSLError)
                else nethsm.RequestErrorType.OTHER
            )
            raise nethsm.NetHSMRequestError(kind, exc) from None
        finally:
            headers.clear()
        if response.status != 200:
            raise update_refusal(response.status, _message(response.data))
        try:
            notes = json.loads(response.data)["releaseNotes"]
        except (ValueError, KeyError, TypeError):
            raise DeviceError("The device accepted the image but sent no release notes.", "") from None
        return str(notes)

    return client.call("Upload update", admin, run)


def _no_update() -> StateError:
    return StateError(
        "No update is waiting on the device.", "Upload an update image first."
    )


def commit_update(client: DeviceClient, admin: Credentials) -> None:
    """Install the pending image; the device reboots into it."""
    client.call("Commit update", admin, lambda s: s.commit_update(), {412: _no_update()})


def cancel_update(client: DeviceClient, admin: Credentials) -> None:
    client.call("Cancel update", admin, lambda s: s.cancel_update(), {412: _no_update()})


# --- power and reset -----------------------------------------------------------------------------


def reboot(client: DeviceClient, admin: Credentials) -> None:
    client.call("Reboot", admin, lambda s: s.reboot())


def shutdown(client: DeviceClient, admin: Credentials) -> None:
    client.call("Shut down", admin, lambda s: s.shutdown())


def factory_reset(client: DeviceClient, admin: Credentials) -> None:
    """Erase every key, user and setting; the device comes back Unprovisioned with a new TLS key."""
    client.call("Factory reset", admin, lambda s: s.factory_reset())
