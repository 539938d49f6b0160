"""Who administers: the quorum admin session, or an Administrator user signed in for this section."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.access.session import DEFAULT_IDLE_TIMEOUT, AdminSession
from hsmconsole.access.signin import ADMIN_USER
from hsmconsole.device.client import Credentials, DeviceClient, WrongCredentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import AuthError, HsmConsoleError, InputError
from hsmconsole.inventory import split_user_id
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.models import UserRole


@dataclass(frozen=True)
class Actor:
    """The credentials administration runs with, and what they may reach.

    `namespace` is "" for a root Administrator (all users, root keys, namespaces) and the
    namespace's name for a namespace Administrator (only its own users and keys)."""

    session: AdminSession
    namespace: str
    quorum: bool  # the admin passphrase rebuilt from shares (as opposed to a signed-in user)

    @property
    def user_id(self) -> str:
        return self.session.user_id

    @property
    def open(self) -> bool:
        return self.session.open

    def credentials(self) -> Credentials:
        """For one device call; counts as activity (the idle timer restarts)."""
        return self.session.credentials()

    def describe(self) -> str:
        """One line for every screen: who the actions run as."""
        scope = f"administrator of namespace {self.namespace}" if self.namespace else "root Administrator"
        how = "quorum admin session" if self.quorum else "signed in"
        return f"Acting as {self.user_id} ({scope}, {how})"

    def scope_note(self, what: str) -> str:
        """Why a namespace administrator sees only part of `what` (users, keys)."""
        if not self.namespace:
            return ""
        return (
            f"Only the {what} of namespace {self.namespace} are shown: the device shows "
            f"nothing else to {self.user_id}."
        )

    def may_manage_user(self, user_id: str, existing_namespaces: frozenset[str] = frozenset()) -> str:
        """ "" when this actor may change `user_id`, else why not (reference §4.1), so screens say
        it before sending rather than showing a 403."""
        ns = split_user_id(user_id)[0]
        if user_id == self.user_id:
            return "you cannot delete or change yourself here"
        if self.namespace:
            return "" if ns == self.namespace else f"{user_id} is not in namespace {self.namespace}"
        if ns and ns in existing_namespaces:
            return f"only administrators of namespace {ns} manage its users once it exists"
        return ""


def actor_from_session(session: AdminSession) -> Actor:
    return Actor(session, "", quorum=True)


def sign_in_administrator(
    client: DeviceClient,
    vault: CredentialVault,
    creds: Credentials,
    *,
    from_keyring: bool,
    remember: bool,
    journal: Journal | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Actor, bool]:
    """Check that `creds` are an Administrator's (root or `ns~name`) and hold them for this section.
    Returns the actor and whether the passphrase is now in the OS keyring (kept only when asked,
    after the device accepted it, and never for `admin`, whose passphrase is the custodians')."""
    profile = client.profile.name
    user_id = creds.user_id
    try:
        if user_id == ADMIN_USER:
            raise InputError(
                "admin does not sign in here: its passphrase is split among the custodians.",
                "Open a quorum admin session from the dashboard instead.",
            )
        check = client.check_user(creds)
        ns = split_user_id(user_id)[0]
        if check.role is None and ns:
            raise AuthError(
                f"{user_id} was accepted, but namespace {ns} does not exist yet, so it may do nothing.",
                f"A root Administrator creates namespace {ns} (Namespaces screen), then sign in again.",
            )
        if check.role is not UserRole.ADMINISTRATOR:
            role = check.role.value if check.role else "no usable role"
            raise AuthError(
                f"{user_id} is not an Administrator ({role}).",
                "Sign in with an Administrator user, or open a quorum admin session.",
            )
        kept = from_keyring
        if remember and not from_keyring and client.profile.pinned:
            kept = vault.set(profile, user_id, creds.passphrase)
    except HsmConsoleError as exc:
        creds.passphrase.wipe()
        outcome = Outcome.REFUSED if isinstance(exc, InputError) else Outcome.FAILED
        record(journal, "admin.signin", outcome, actor=user_id, device_id=profile, detail=exc.kind.value)
        if isinstance(exc, WrongCredentials) and from_keyring:
            raise WrongCredentials(
                f"The device refused the passphrase kept in the OS keyring for {user_id}.",
                "It may have been changed on the device: type the current one.",
            ) from None
        raise
    except BaseException:
        creds.passphrase.wipe()
        raise
    record(journal, "admin.signin", Outcome.OK, actor=user_id, device_id=profile, detail="Administrator")
    session = AdminSession(creds, idle_timeout=idle_timeout, clock=clock)
    return Actor(session, split_user_id(user_id)[0], quorum=False), kept
