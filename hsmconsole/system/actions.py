"""System settings and maintenance as journaled steps: each change is checked, sent, and recorded."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from hsmconsole import fileio
from hsmconsole.device import system as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import split_host_port
from hsmconsole.errors import ConnectionFailed, ErrorKind, HsmConsoleError, InputError
from hsmconsole.journal.chain import Journal, JournalRefused, Outcome, record
from hsmconsole.models import DeviceState

T = TypeVar("T")

UPDATE_MAGIC = b"_NETHSM_UPDATE_\x00"  # every NetHSM update image starts so (reference §6.8)
MAX_UPDATE_BYTES = 1 << 30


@dataclass(frozen=True)
class Overview:
    """Everything the system screen and `system info` show, read in one go."""

    info: dev.SystemInfo
    state: DeviceState
    device_time: datetime
    local_time: datetime  # this computer's clock when the device's was read
    network: dev.NetworkSettings
    logging: dev.LoggingSettings
    unattended_boot: bool
    tls: dev.TlsCertificate


@dataclass(frozen=True)
class NetworkChange:
    before: dev.NetworkSettings
    after: dev.NetworkSettings
    reconnect_to: str | None  # the console's connection used the old address: use this host now


def read_overview(client: DeviceClient, admin: Credentials) -> Overview:
    info = dev.read_system_info(client, admin)
    state = client.state()
    before = datetime.now(UTC)
    device_time = dev.read_time(client, admin)
    local_time = before + (datetime.now(UTC) - before) / 2  # when the device most likely read it
    return Overview(
        info, state, device_time, local_time, dev.read_network(client, admin),
        dev.read_logging(client, admin), dev.read_unattended_boot(client, admin),
        dev.read_tls_certificate(client, admin),
    )


def _record(
    journal: Journal | None, action: str, outcome: Outcome, actor: str, device: str, detail: str
) -> None:
    try:
        record(journal, action, outcome, actor=actor, device_id=device, detail=detail)
    except JournalRefused:
        # A detail the secret filter dislikes (a device id can look random) must not undo a
        # change that was made: record the step without it.
        record(journal, action, outcome, actor=actor, device_id=device, detail="")


def journaled(
    client: DeviceClient,
    journal: Journal | None,
    action: str,
    admin: Credentials,
    detail: str,
    step: Callable[[], T],
) -> T:
    """Run `step`; journal it as ok, refused (input or state) or failed, and re-raise failures."""
    device = client.profile.name
    try:
        result = step()
    except HsmConsoleError as exc:
        refused = exc.kind in (ErrorKind.INPUT, ErrorKind.STATE, ErrorKind.INTEGRITY)
        outcome = Outcome.REFUSED if refused else Outcome.FAILED
        _record(journal, action, outcome, admin.user_id, device, f"{detail}: {exc.kind.value}".strip(": "))
        raise
    _record(journal, action, Outcome.OK, admin.user_id, device, detail)
    return result


def reconnect_host(profile_host: str, before: str, after: str) -> str | None:
    """The host the profile should use after the device moved from `before` to `after`, when the
    console reaches it by that address (a name or another address: None, nothing to follow)."""
    name, port = split_host_port(profile_host)
    try:
        if ipaddress.ip_address(name) != ipaddress.ip_address(before) or before == after:
            return None
    except ValueError:
        return None
    return after if port == 443 else f"{after}:{port}"


def moved_profile(profile: Profile, host: str) -> Profile:
    """The same profile at the device's new address (same pinned certificate)."""
    return replace(profile, host=host)


def change_network(
    client: DeviceClient, admin: Credentials, settings: dev.NetworkSettings, journal: Journal | None = None
) -> NetworkChange:
    before = dev.read_network(client, admin)
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{settings.netmask}").prefixlen
    detail = f"{settings.ip_address}/{prefix} gateway {settings.gateway}"
    if settings.ipv6 is not None:
        detail += f" ipv6 {settings.ipv6.cidr}"
    reconnect = reconnect_host(client.profile.host, before.ip_address, settings.ip_address)
    try:
        journaled(client, journal, "system.network", admin, detail,
                  lambda: dev.set_network(client, admin, settings))  # fmt: skip
    except ConnectionFailed as exc:
        if reconnect is None:
            raise
        # The device may have moved before it answered: say where it would be now.
        raise ConnectionFailed(
            exc.title,
            f"The console reached the device at its old address; if the change was made it now "
            f"answers at {reconnect}: point the profile there and reconnect to check.",
        ) from None
    return NetworkChange(before, settings, reconnect)


def change_time(
    client: DeviceClient, admin: Credentials, when: datetime | None, journal: Journal | None = None
) -> datetime:
    """Set the device clock to `when`, or to this computer's clock (UTC) when None."""
    moment = when or datetime.now(UTC)
    how = "typed" if when is not None else "from this computer"
    detail = f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} ({how})"
    journaled(client, journal, "system.time", admin, detail, lambda: dev.set_time(client, admin, moment))
    return moment


def change_logging(
    client: DeviceClient, admin: Credentials, settings: dev.LoggingSettings, journal: Journal | None = None
) -> None:
    detail = f"{settings.ip_address} port {settings.port} level {settings.level.value}"
    journaled(client, journal, "system.logging", admin, detail,
              lambda: dev.set_logging(client, admin, settings))  # fmt: skip


UNATTENDED_WARNING = (
    "With unattended boot ON the device unlocks itself at every start: the unlock passphrase is "
    "no longer needed, so anyone who steals the device, or can power-cycle it, gets a working "
    "device with every key usable. Leave it OFF unless the device sits where that is acceptable."
)


def change_unattended_boot(
    client: DeviceClient, admin: Credentials, on: bool, journal: Journal | None = None
) -> None:
    journaled(client, journal, "system.unattended-boot", admin, "on" if on else "off",
              lambda: dev.set_unattended_boot(client, admin, on))  # fmt: skip


def save_csr(
    client: DeviceClient, admin: Credentials, dn: dev.DistinguishedName, path: Path,
    journal: Journal | None = None,
) -> Path:
    """Ask the device for a CSR of its TLS key and write it to a new file (0600, never overwritten)."""
    if path.exists():
        raise InputError(f"{path} already exists.", "Choose another file name; nothing was overwritten.")
    pem = journaled(client, journal, "system.tls.csr", admin, f"CN={dn.common_name[:60]}",
                    lambda: dev.tls_csr(client, admin, dn))  # fmt: skip
    try:
        return fileio.write_private(path, pem.encode())
    except OSError as exc:
        raise InputError(f"Cannot write {path}: {exc.strerror}.", "Choose another place.") from None


def read_update_file(path: Path) -> bytes:
    """An update image from a file, checked locally (exists, not empty, an update image at all)."""
    try:
        size = path.stat().st_size
        if size > MAX_UPDATE_BYTES:
            raise InputError(f"{path} is too large to be an update image.", "Check the file name.")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", "Check the file name.") from None
    if not data.startswith(UPDATE_MAGIC):
        raise InputError(
            f"{path} is not a NetHSM update image (it does not start like one).",
            "Check the file; nothing was sent to the device.",
        )
    return data


def upload_update(
    client: DeviceClient, admin: Credentials, image: bytes, progress: dev.Progress | None = None,
    journal: Journal | None = None,
) -> str:
    return journaled(client, journal, "system.update.upload", admin, f"{len(image)} bytes",
                     lambda: dev.upload_update(client, admin, image, progress))  # fmt: skip


def commit_update(client: DeviceClient, admin: Credentials, journal: Journal | None = None) -> None:
    journaled(client, journal, "system.update.commit", admin, "", lambda: dev.commit_update(client, admin))


def cancel_update(client: DeviceClient, admin: Credentials, journal: Journal | None = None) -> None:
    journaled(client, journal, "system.update.cancel", admin, "", lambda: dev.cancel_update(client, admin))


def reboot(client: DeviceClient, admin: Credentials, journal: Journal | None = None) -> None:
    journaled(client, journal, "system.reboot", admin, "", lambda: dev.reboot(client, admin))


def shutdown(client: DeviceClient, admin: Credentials, journal: Journal | None = None) -> None:
    journaled(client, journal, "system.shutdown", admin, "", lambda: dev.shutdown(client, admin))


FACTORY_RESET_WARNING = (
    "A factory reset erases EVERYTHING on the device: every key, every user, every setting and "
    "the unlock, admin and backup passphrases. Only a backup and its passphrase can bring the keys "
    "back. The device restarts Unprovisioned with a NEW TLS certificate."
)


def check_device_id(typed: str, device_id: str) -> None:
    """The person must type the device id in full and exactly (case included)."""
    if not device_id:
        raise InputError(
            "The device did not say its device id, so it cannot be confirmed.", "Nothing was done."
        )
    if typed.strip() != device_id:
        raise InputError(
            f"'{typed.strip()}' is not this device's id.",
            "Type the device id shown, in full; nothing was done.",
        )


def refuse_reset_locally(
    client: DeviceClient, admin: Credentials, typed: str, device_id: str, journal: Journal | None = None
) -> None:
    """check_device_id for a screen that already knows the id: a typo is journaled as refused and
    raised, and nothing is sent."""
    try:
        check_device_id(typed, device_id)
    except InputError as exc:
        _record(journal, "system.factory-reset", Outcome.REFUSED, admin.user_id, client.profile.name,
                f"device id {device_id}: {exc.kind.value}")  # fmt: skip
        raise


def factory_reset(
    client: DeviceClient, admin: Credentials, typed_id: str, journal: Journal | None = None
) -> None:
    """Erase the device, once `typed_id` matches the id the device gives right now (not one read
    earlier: the connection might lead to another device since)."""
    device_id = dev.read_system_info(client, admin).device_id

    def step() -> None:
        check_device_id(typed_id, device_id)
        dev.factory_reset(client, admin)

    journaled(client, journal, "system.factory-reset", admin, f"device id {device_id}", step)
