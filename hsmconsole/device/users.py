"""User operations on a device (list, details, add, delete, passphrase, operator tags) through the SDK."""

from __future__ import annotations

import json
from collections.abc import Iterable

import nethsm

from hsmconsole.device.client import Caller, Credentials
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.inventory import ADMIN_USER, UserInfo, check_id, check_user_id
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret


def _missing(user_id: str) -> dict[int, HsmConsoleError]:
    return {
        404: InputError(
            f"There is no user {user_id} on the device.", "Refresh the list: it may have been deleted."
        )
    }


def _read(s: nethsm.NetHSM, user_id: str, with_tags: bool) -> UserInfo:
    user = s.get_user(user_id)
    role = UserRole(user.role.value)
    tags: tuple[str, ...] = ()
    # GET /users/{id}/tags answers 404 for anything but an Operator (reference §6.3).
    if with_tags and role is UserRole.OPERATOR:
        tags = tuple(s.list_operator_tags(user_id))
    return UserInfo(user_id, user.real_name, role, tags)


def list_user_ids(client: Caller, creds: Credentials) -> list[str]:
    """Ids the caller may see: all for a root Administrator, `ns~*` for a namespace one."""
    def run(s: nethsm.NetHSM) -> list[str]:
        # Read the JSON directly: the SDK's schema validation of each item is 40 times slower.
        answer = s._get_api().users_get(skip_deserialization=True)
        return [str(item["user"]) for item in json.loads(answer.response.data)]

    return client.call("List users", creds, run)


def get_user(client: Caller, creds: Credentials, user_id: str, *, with_tags: bool = True) -> UserInfo:
    return client.call(
        f"Read user {user_id}", creds, lambda s: _read(s, user_id, with_tags), _missing(user_id)
    )


def get_users(
    client: Caller, creds: Credentials, user_ids: Iterable[str], *, with_tags: bool = True
) -> list[UserInfo]:
    """Details of several users on one session (one connection, one authentication). A user
    deleted meanwhile is left out rather than failing the whole read."""
    ids = list(user_ids)

    def run(s: nethsm.NetHSM) -> list[UserInfo]:
        found = []
        for uid in ids:
            try:
                found.append(_read(s, uid, with_tags))
            except nethsm.NetHSMError as exc:
                if getattr(exc.__context__, "status", None) != 404:
                    raise
        return found

    return client.call(f"Read {len(ids)} users", creds, run)


def list_users(client: Caller, creds: Credentials) -> list[UserInfo]:
    """Every visible user with details (one request per user: for large devices read lazily)."""
    return get_users(client, creds, list_user_ids(client, creds))


def add_user(
    client: Caller, creds: Credentials, user_id: str, real_name: str, role: UserRole, passphrase: Secret
) -> str:
    """Create `user_id` (`name` or `ns~name`). A root Administrator may create `ns~name` only
    while namespace `ns` does not exist yet (reference §4.1)."""
    check_user_id(user_id)
    if not 10 <= len(passphrase) <= 200:
        raise InputError("A user passphrase must be 10 to 200 bytes long.", "")

    def create(s: nethsm.NetHSM) -> str:
        # PUT /users/{id}: the SDK joins `namespace~` itself only when given separately; the
        # full id goes through unchanged.
        return s.add_user(real_name, nethsm.Role.from_string(role.value), passphrase.reveal_str(), user_id)

    exists = InputError(f"Create user {user_id}: a user with that id already exists.", "Choose another id.")
    return client.call(f"Create user {user_id}", creds, create, {409: exists})


def delete_user(client: Caller, creds: Credentials, user_id: str) -> None:
    meaning = _missing(user_id)
    meaning[400] = InputError(
        f"Delete user {user_id}: a user cannot delete itself.", "Sign in as another Administrator."
    )
    client.call(f"Delete user {user_id}", creds, lambda s: s.delete_user(user_id), meaning)


def refuse_admin_passphrase(user_id: str) -> None:
    """The `admin` user's passphrase is a custodian secret: only credential rotation changes it."""
    if user_id == ADMIN_USER:
        raise InputError(
            "The admin passphrase is not changed here.",
            "It is split among the custodians: change it with credential rotation.",
        )


def set_passphrase(client: Caller, creds: Credentials, user_id: str, passphrase: Secret) -> None:
    refuse_admin_passphrase(user_id)
    if not 10 <= len(passphrase) <= 200:
        raise InputError("A user passphrase must be 10 to 200 bytes long.", "")
    client.call(
        f"Set the passphrase of {user_id}",
        creds,
        lambda s: s.set_passphrase(user_id, passphrase.reveal_str()),
        _missing(user_id),
    )


def list_tags(client: Caller, creds: Credentials, user_id: str) -> tuple[str, ...]:
    return client.call(
        f"Read tags of {user_id}", creds, lambda s: tuple(s.list_operator_tags(user_id)), _missing(user_id)
    )


def add_tag(client: Caller, creds: Credentials, user_id: str, tag: str) -> None:
    """Add an operator tag; adding one already present is not an error (the device says 304)."""
    check_id(tag, "Tag")
    meaning = _missing(user_id)
    meaning[400] = InputError(f"Tag {tag}: only Operator users have tags.", "")

    def run(s: nethsm.NetHSM) -> None:
        try:
            s.add_operator_tag(user_id, tag)
        except nethsm.NetHSMError as exc:
            if getattr(exc.__context__, "status", None) != 304:
                raise

    client.call(f"Add tag {tag} to {user_id}", creds, run, meaning)


def remove_tag(client: Caller, creds: Credentials, user_id: str, tag: str) -> None:
    missing = InputError(f"User {user_id} has no tag {tag} (or no longer exists).", "Refresh the list.")
    client.call(
        f"Remove tag {tag} from {user_id}",
        creds,
        lambda s: s.delete_operator_tag(user_id, tag),
        {404: missing},
    )
