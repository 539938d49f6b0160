"""Quorum admin session: admin credentials rebuilt from shares, in memory only, forgotten when idle."""

from __future__ import annotations

import time
from collections.abc import Callable

from hsmconsole.access.quorum import shares_refused
from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.device.client import Credentials, DeviceClient, RateLimited
from hsmconsole.errors import AuthError, HsmConsoleError, StateError
from hsmconsole.journal.chain import Journal, Outcome, record

DEFAULT_IDLE_TIMEOUT = 300.0  # seconds: long enough for one task, short enough to not be left open


class AdminSession:
    """Holds the admin Credentials for one session. Each use restarts the idle timer; once idle
    past the timeout the passphrase is wiped and the session is closed for good.

    `clock` is injectable (monotonic seconds) so expiry can be tested without waiting.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        self._creds: Credentials | None = credentials
        self.user_id = credentials.user_id
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._last_used = clock()

    @property
    def open(self) -> bool:
        """False once wiped; checking also wipes a session that has gone idle."""
        if self._creds is not None and self.idle_for() >= self.idle_timeout:
            self.wipe()
        return self._creds is not None

    def idle_for(self) -> float:
        return max(0.0, self._clock() - self._last_used)

    def remaining(self) -> float:
        return max(0.0, self.idle_timeout - self.idle_for()) if self.open else 0.0

    def touch(self) -> None:
        if self.open:
            self._last_used = self._clock()

    def credentials(self) -> Credentials:
        """The credentials for one device call; counts as activity."""
        if not self.open or self._creds is None:
            raise StateError(
                "The admin session has closed.",
                "It closes after a period without use: open a new one with a quorum of admin shares.",
            )
        self._last_used = self._clock()
        return self._creds

    def wipe(self) -> None:
        if self._creds is not None:
            self._creds.passphrase.wipe()
        self._creds = None

    def __repr__(self) -> str:
        state = "open" if self._creds is not None else "closed"
        return f"<AdminSession {self.user_id} {state}>"


def open_admin_session(
    collector: ShareCollector,
    client: DeviceClient,
    *,
    user_id: str = "admin",
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    journal: Journal | None = None,
) -> AdminSession:
    """Rebuild the admin passphrase from a quorum of admin shares and check it with the device."""
    meta = collector.set
    prints = tuple(s.fingerprint for s in collector.shares)
    secret = collector.combine()
    try:
        return start_session(
            client, Credentials(user_id, secret), idle_timeout=idle_timeout, clock=clock,
            journal=journal, set_ids=(meta.set_id,) if meta else (), share_fingerprints=prints,
        )
    except AuthError as exc:
        if isinstance(exc, RateLimited):
            raise
        raise shares_refused(meta, "admin", client) from None


def start_session(
    client: DeviceClient,
    credentials: Credentials,
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    journal: Journal | None = None,
    set_ids: tuple[str, ...] = (),
    share_fingerprints: tuple[str, ...] = (),
) -> AdminSession:
    """Check the credentials with one harmless read, then hold them; wiped if the device refuses."""
    how = "quorum of admin shares" if share_fingerprints else "typed passphrase"
    try:
        client.check_admin(credentials)
    except HsmConsoleError as exc:
        credentials.passphrase.wipe()
        record(
            journal, "admin.session.open", Outcome.FAILED, actor=credentials.user_id,
            device_id=client.profile.name, set_ids=set_ids,
            share_fingerprints=share_fingerprints, detail=f"{how}: {exc.kind.value}",
        )
        raise
    except BaseException:
        credentials.passphrase.wipe()
        raise
    record(
        journal, "admin.session.open", Outcome.OK, actor=credentials.user_id,
        device_id=client.profile.name, set_ids=set_ids, share_fingerprints=share_fingerprints,
        detail=how,
    )
    return AdminSession(credentials, idle_timeout=idle_timeout, clock=clock)


def lock_device(client: DeviceClient, session: AdminSession, journal: Journal | None = None) -> None:
    """Lock with the session's credentials, journal it, and close the session (walking away)."""
    creds = session.credentials()
    try:
        client.lock(creds)
    except HsmConsoleError as exc:
        record(
            journal, "lock", Outcome.FAILED, actor=session.user_id, device_id=client.profile.name,
            detail=exc.kind.value,
        )
        raise
    record(journal, "lock", Outcome.OK, actor=session.user_id, device_id=client.profile.name)
    session.wipe()
