"""The one blocking facade over the nethsm SDK: TLS pinning, Secret handling and error mapping."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import nethsm
import urllib3

from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import (
    DEFAULT_TIMEOUTS,
    MISMATCH_HINT,
    CertificateMismatch,
    Timeouts,
    fetch_certificate,
    fingerprint_of,
    pin_sdk,
    presented_in,
)
from hsmconsole.errors import (
    AuthError,
    ConnectionFailed,
    DeviceError,
    HsmConsoleError,
    InputError,
    StateError,
)
from hsmconsole.models import (
    Counts,
    DeviceState,
    DeviceStatus,
    SystemSummary,
    TlsTrust,
    UserCheck,
    UserRole,
)
from hsmconsole.secrets import Secret

T = TypeVar("T")


@dataclass(frozen=True)
class Credentials:
    """A user id and its passphrase (a Secret: the dataclass repr stays redacted)."""

    user_id: str
    passphrase: Secret


class Caller(Protocol):
    """What device operations need: a `DeviceClient` (a short session per call) or a
    `DeviceBatch` (one session for many calls)."""

    @property
    def profile(self) -> Profile: ...

    def call(
        self,
        action: str,
        creds: Credentials | None,
        fn: Callable[[nethsm.NetHSM], T],
        meaning: dict[int, HsmConsoleError] | None = None,
    ) -> T: ...


class WrongCredentials(AuthError):
    """The device answered 401: no such user, or not its passphrase (as opposed to a 403 or 429)."""


class RateLimited(AuthError):
    """The device answered 429: too many failed attempts just now (not a verdict on the secret)."""


def _status_of(exc: BaseException) -> int | None:
    # The SDK raises NetHSMError from inside its `except ApiException` handler: the HTTP status
    # survives only on the implicit context.
    ctx = exc.__context__
    status = getattr(ctx, "status", None)
    return status if isinstance(status, int) else None


def _device_message(exc: BaseException) -> str:
    text = str(exc)
    marker = "NetHSM error message: "
    return text.split(marker, 1)[1].strip() if marker in text else ""


def _timed_out(exc: BaseException) -> bool:
    reason: BaseException | None = exc.reason if isinstance(exc, nethsm.NetHSMRequestError) else exc
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.TimeoutError)


def map_sdk_error(exc: BaseException, action: str, pinned: str | None = None) -> HsmConsoleError:
    """Translate SDK and transport exceptions into our error family, once, here. `pinned` is the
    profile's fingerprint, named in a certificate mismatch."""
    if isinstance(exc, HsmConsoleError):
        return exc
    if _timed_out(exc):
        return ConnectionFailed(
            f"{action}: the device stopped answering (no reply in time).",
            "It may be busy, hung or cut off. If this was a change, it may or may not have been "
            "made: refresh the status before trying again.",
        )
    if isinstance(exc, nethsm.NetHSMRequestError):
        reason = str(exc.reason)
        if exc.type is nethsm.RequestErrorType.SSL_ERROR and "ingerprint" in reason:
            return CertificateMismatch(
                f"{action}: the device's TLS certificate does NOT match the pinned fingerprint. "
                "Nothing was sent to it.",
                "Stop. " + MISMATCH_HINT,
                pinned=pinned or "",
                presented=presented_in(reason),
            )
        if exc.type is nethsm.RequestErrorType.SSL_ERROR:
            return ConnectionFailed(f"{action}: TLS handshake failed.", "Check the address and port.")
        return ConnectionFailed(
            f"{action}: the device did not answer.",
            "Check the network cable, the address and that the device is powered on; nothing was "
            "changed on the device by this attempt unless it says otherwise.",
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return ConnectionFailed(
            f"{action}: the connection failed ({exc.__class__.__name__}).",
            "Check the network and try again.",
        )
    if isinstance(exc, nethsm.NetHSMError):
        status = _status_of(exc)
        detail = _device_message(exc)
        suffix = f" The device said: {detail}" if detail else ""
        if status == 401:
            return AuthError(f"{action}: wrong user name or passphrase.", "Check both and retry.")
        if status == 403:
            if detail == "not authenticated":
                return AuthError(f"{action}: the device refused the passphrase.", "Check it and retry.")
            return AuthError(f"{action}: this user's role may not do that.{suffix}", "")
        if status == 412:
            return StateError(
                f"{action}: the device is in the wrong state for this.{suffix}",
                "Refresh the status to see what the device allows now.",
            )
        if status == 429:
            return RateLimited(
                f"{action}: too many failed attempts just now.",
                "Wait a second and try again; the device rate-limits failed logins.",
            )
        if status in (400, 409):
            return InputError(f"{action}: the device refused the request.{suffix}", "")
        return DeviceError(f"{action}: unexpected answer from the device ({status}).{suffix}", "")
    return DeviceError(f"{action}: unexpected error ({exc.__class__.__name__}).", "")


def _system_summary(sdk: nethsm.NetHSM) -> SystemSummary:
    """GET /system/info once, through the SDK's generated client: the SDK's own get_system_info()
    drops the device id, and asking twice would be a second request for the same answer. Errors
    go through the SDK's own handler, so they read as get_system_info()'s would."""
    try:
        body = sdk._get_api().system_info_get().body
    except Exception as exc:
        nethsm._handle_exception(exc, state=nethsm.State.OPERATIONAL, roles=[nethsm.Role.ADMINISTRATOR])
    # The id only names the device in reports and the journal: a device or SDK version without
    # it gives "" rather than failing the status read.
    device_id = body.get("deviceId")
    return SystemSummary(
        str(body.softwareVersion), str(body.firmwareVersion), str(body.hardwareVersion),
        str(body.softwareBuild), str(device_id) if device_id else "",
    )


class DeviceClient:
    """Talks to one device through the SDK. Every call opens a short-lived SDK session so that
    passphrases do not linger in long-lived objects (the SDK keeps them in plain attributes)."""

    def __init__(self, profile: Profile, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        """`timeouts` bounds every request, so a device that stops answering cannot hang a caller."""
        if not profile.pinned and not profile.insecure:
            raise StateError(
                f"Profile '{profile.name}' has no confirmed certificate fingerprint yet.",
                "Connect once and confirm the fingerprint shown against the device's own display.",
            )
        self.profile = profile
        self.timeouts = timeouts

    # --- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _sdk(self, creds: Credentials | None) -> Iterator[nethsm.NetHSM]:
        auth = None
        if creds is not None:
            auth = nethsm.Authentication(
                username=creds.user_id, password=creds.passphrase.reveal_str()
            )
        client = nethsm.NetHSM(self.profile.host, auth=auth)
        pin_sdk(client, self.profile.fingerprint, self.timeouts)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                yield client
        finally:
            client.close()
            del auth

    def call(
        self,
        action: str,
        creds: Credentials | None,
        fn: Callable[[nethsm.NetHSM], T],
        meaning: dict[int, HsmConsoleError] | None = None,
    ) -> T:
        """Run one SDK call. `meaning` gives statuses whose sense is known for this call (a 403
        from a passphrase change means "wrong current passphrase", not "wrong role").

        Public so that each concern's device operations (users, keys, backups, system settings) live
        in their own module of `hsmconsole/device/` and still share this one error mapping."""
        with self._mapped(action, meaning), self._sdk(creds) as sdk:
            return fn(sdk)
        raise AssertionError("unreachable")  # pragma: no cover (mypy: _mapped may swallow)

    @contextlib.contextmanager
    def _mapped(self, action: str, meaning: dict[int, HsmConsoleError] | None) -> Iterator[None]:
        """The one translation of SDK exceptions, shared by `call` and `DeviceBatch.call`."""
        try:
            yield
        except HsmConsoleError:
            raise
        except Exception as exc:
            status = _status_of(exc) if isinstance(exc, nethsm.NetHSMError) else None
            if meaning and status in meaning:
                raise meaning[status] from None
            raise map_sdk_error(exc, action, self.profile.fingerprint) from None

    @contextlib.contextmanager
    def batch(self, creds: Credentials) -> Iterator[DeviceBatch]:
        """One SDK client, one pinned keep-alive connection pool and one authentication for a
        series of calls (bulk reads, plan/apply): a TLS handshake per request would dominate.
        The passphrase lives in the SDK only until the `with` block ends. Use from one thread."""
        with self._sdk(creds) as sdk:
            batch = DeviceBatch(self, sdk, creds)
            try:
                yield batch
            finally:
                batch._close()

    # --- reads ---------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        return fingerprint_of(fetch_certificate(self.profile.host, self.timeouts.connect))

    def state(self) -> DeviceState:
        return self.call("Read device state", None, lambda s: DeviceState(s.get_state().value))

    def status(self, admin: Credentials | None = None) -> DeviceStatus:
        """State, vendor and product; with an admin session also system info and counts."""
        trust = TlsTrust.PINNED if self.profile.fingerprint else TlsTrust.INSECURE
        try:
            state = self.state()
        except CertificateMismatch as exc:
            # Never report "verified" for a device that just presented another certificate.
            return DeviceStatus(
                host=self.profile.host, state=DeviceState.UNREACHABLE, tls=TlsTrust.MISMATCH,
                fingerprint=exc.pinned, presented=exc.presented or "",
            )
        except ConnectionFailed as exc:
            return DeviceStatus(
                host=self.profile.host, state=DeviceState.UNREACHABLE, tls=trust,
                fingerprint=self.profile.fingerprint or "", notes=(exc.title,),
            )
        info = self.call("Read device info", None, lambda s: s.get_info())
        system: SystemSummary | None = None
        counts: Counts | None = None
        if admin is not None and state is DeviceState.OPERATIONAL:
            def read(s: nethsm.NetHSM) -> tuple[SystemSummary, Counts]:
                return _system_summary(s), Counts(
                    users=len(s.list_users()),
                    namespaces=len(s.list_namespaces()),
                    keys=len(s.list_keys()),
                )

            system, counts = self.call("Read system info", admin, read)
        return DeviceStatus(
            host=self.profile.host, state=state, vendor=info.vendor, product=info.product,
            tls=trust, fingerprint=self.profile.fingerprint or "", system=system, counts=counts,
        )

    def check_admin(self, admin: Credentials) -> None:
        """Confirm admin credentials with a harmless read (a failed login is rate-limited)."""
        self.call("Check administrator credentials", admin, lambda s: s.list_users())

    def check_user(self, creds: Credentials) -> UserCheck:
        """Check a day-to-day user's passphrase with cheap reads its role may make (reference §4.2),
        learning the role on the way: GET /users/{self} answers an Administrator or an Operator
        (for itself); a 403 there means authenticated but another role, so /metrics is tried; a
        403 there too leaves Backup, whose only call (/system/backup) is not a harmless check.
        Raises WrongCredentials when the device says 401."""

        def forbidden(exc: nethsm.NetHSMError) -> bool:
            return _status_of(exc) == 403

        def run(s: nethsm.NetHSM) -> UserCheck:
            try:
                role = UserRole(s.get_user(creds.user_id).role.value)
            except nethsm.NetHSMError as exc:
                if not forbidden(exc):
                    raise
            else:
                if role is UserRole.OPERATOR:
                    return UserCheck(creds.user_id, role, keys=len(s.list_keys()))
                return UserCheck(creds.user_id, role)
            try:
                metrics = s.get_metrics()
            except nethsm.NetHSMError as exc:
                if not forbidden(exc):
                    raise
                # Only root users may be Backup users that can act; a namespaced one is powerless.
                return UserCheck(creds.user_id, None if "~" in creds.user_id else UserRole.BACKUP)
            return UserCheck(creds.user_id, UserRole.METRICS, metrics=len(metrics))

        wrong = WrongCredentials(
            f"Sign in as {creds.user_id}: the device refused this user name and passphrase.",
            "Check both and try again (after a failed attempt the device waits a second).",
        )
        return self.call(f"Sign in as {creds.user_id}", creds, run, {401: wrong})

    def list_users(self, admin: Credentials) -> list[str]:
        return self.call("List users", admin, lambda s: s.list_users())

    # --- state changes -------------------------------------------------------------------------
    def provision(self, unlock: Secret, admin: Secret, when: datetime | None = None) -> None:
        moment = when or datetime.now(UTC)
        self.call(
            "Provision",
            None,
            lambda s: s.provision(unlock.reveal_str(), admin.reveal_str(), moment),
        )

    def unlock(self, passphrase: Secret) -> None:
        self.call("Unlock", None, lambda s: s.unlock(passphrase.reveal_str()))

    def lock(self, admin: Credentials) -> None:
        self.call("Lock", admin, lambda s: s.lock())

    def set_backup_passphrase(
        self, admin: Credentials, new: Secret, current: Secret | None = None
    ) -> None:
        cur = current.reveal_str() if current is not None else ""
        wrong_current = AuthError(
            "Set backup passphrase: the device refused the current backup passphrase."
            if current is not None
            else "Set backup passphrase: the device already has a backup passphrase.",
            "Changing it needs the current one (credential rotation); nothing was changed.",
        )
        self.call(
            "Set backup passphrase",
            admin,
            lambda s: s.set_backup_passphrase(new.reveal_str(), current_passphrase=cur),
            {403: wrong_current},
        )

    def set_unlock_passphrase(self, admin: Credentials, new: Secret, current: Secret) -> None:
        self.call(
            "Change unlock passphrase",
            admin,
            lambda s: s.set_unlock_passphrase(new.reveal_str(), current.reveal_str()),
            {403: AuthError(
                "Change unlock passphrase: the device refused the current unlock passphrase.",
                "Nothing was changed. Rebuild the current passphrase from its shares and retry.",
            )},
        )

    def set_admin_passphrase(self, admin: Credentials, new: Secret) -> None:
        self.call(
            "Change admin passphrase",
            admin,
            lambda s: s.set_passphrase(admin.user_id, new.reveal_str()),
        )

    def add_user(
        self, admin: Credentials, user_id: str, real_name: str, role: UserRole, passphrase: Secret
    ) -> str:
        def create(s: nethsm.NetHSM) -> str:
            return s.add_user(
                real_name, nethsm.Role.from_string(role.value), passphrase.reveal_str(), user_id
            )

        return self.call(f"Create user {user_id}", admin, create)

    def set_time(self, admin: Credentials, when: datetime | None = None) -> None:
        moment = when or datetime.now(UTC)
        self.call("Set device time", admin, lambda s: s.set_time(moment))


class DeviceBatch:
    """A series of calls on one open SDK session (see `DeviceClient.batch`). Its `call` has the
    signature of `DeviceClient.call`, so the device operations of `hsmconsole/device/` take either."""

    def __init__(self, client: DeviceClient, sdk: nethsm.NetHSM, creds: Credentials) -> None:
        self.client = client
        self.profile = client.profile
        self._sdk: nethsm.NetHSM | None = sdk
        self.user_id = creds.user_id
        self.calls = 0

    def call(
        self,
        action: str,
        creds: Credentials | None,
        fn: Callable[[nethsm.NetHSM], T],
        meaning: dict[int, HsmConsoleError] | None = None,
    ) -> T:
        """Like `DeviceClient.call`, on the batch's session. `creds` must name the batch's user
        (or be None): a call for another user would silently run with the wrong rights."""
        if creds is not None and creds.user_id != self.user_id:
            raise ValueError(f"batch of {self.user_id} used for {creds.user_id}")
        if self._sdk is None:
            raise StateError(f"{action}: the batch has ended.", "Start a new one.")
        sdk = self._sdk
        with self.client._mapped(action, meaning):
            self.calls += 1
            return fn(sdk)
        raise AssertionError("unreachable")  # pragma: no cover

    def _close(self) -> None:
        self._sdk = None
