"""Users and namespaces as an administrator changes them: checked first, journaled, passphrases generated."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from hsmconsole.admin.actor import Actor
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.device import namespaces as dev_ns
from hsmconsole.device import users as dev_users
from hsmconsole.device.client import DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import AuthError, HsmConsoleError, InputError
from hsmconsole.fileio import write_private
from hsmconsole.inventory import NamespaceInfo, UserInfo, check_id, check_user_id, split_user_id
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

T = TypeVar("T")


def journaled(
    client: DeviceClient, actor: Actor, journal: Journal | None, action: str, detail: str, fn: Callable[[], T]
) -> T:
    """Run one change and journal its outcome (identifiers only, never a secret)."""
    try:
        result = fn()
    except HsmConsoleError as exc:
        record(
            journal,
            action,
            Outcome.FAILED,
            actor=actor.user_id,
            device_id=client.profile.name,
            detail=f"{detail}: {exc.kind.value}",
        )
        raise
    record(journal, action, Outcome.OK, actor=actor.user_id, device_id=client.profile.name, detail=detail)
    return result


def journaled_tags(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    what: str,
    item_id: str,
    changes: tuple[tuple[str, ...], tuple[str, ...]],
    send: tuple[Callable[[str], None], Callable[[str], None]],
) -> None:
    """Tags by difference (`changes` = added, removed): each tag checked before anything is sent,
    then one request per change, each journaled as `admin.<what>.tag.add` or `.remove`."""
    add, remove = changes
    for tag in (*add, *remove):
        check_id(tag, "Tag")
    for verb, tags, fn in (("add", add, send[0]), ("remove", remove, send[1])):
        for tag in tags:
            action = f"admin.{what}.tag.{verb}"
            journaled(client, actor, journal, action, f"{item_id} {tag}", partial(fn, tag))


def qualify(actor: Actor, user_id: str) -> str:
    """A namespace administrator types `bob` and means `ns~bob`."""
    user_id = user_id.strip()
    if actor.namespace and "~" not in user_id:
        return f"{actor.namespace}~{user_id}"
    return user_id


def refuse_foreign(actor: Actor, user_id: str, namespaces: frozenset[str] = frozenset()) -> None:
    why = actor.may_manage_user(user_id, namespaces)
    if why:
        raise AuthError(f"Not allowed for {actor.user_id}: {why}.", "")


def new_passphrase(user_id: str) -> Secret:
    """A strong generated passphrase (256 bits, 52 easy-to-type characters)."""
    return generate_passphrase(label=f"passphrase of {user_id}")


def create_user(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    user_id: str,
    real_name: str,
    role: UserRole,
    namespaces: frozenset[str] = frozenset(),
) -> tuple[str, Secret]:
    """Create a user with a generated passphrase; returns its id and the passphrase (show it once)."""
    user_id = check_user_id(qualify(actor, user_id))
    refuse_foreign(actor, user_id, namespaces)
    secret = new_passphrase(user_id)
    try:
        created = journaled(
            client,
            actor,
            journal,
            "admin.user.create",
            f"{user_id} ({role.value})",
            lambda: dev_users.add_user(client, actor.credentials(), user_id, real_name, role, secret),
        )
    except BaseException:
        secret.wipe()
        raise
    return created, secret


def reset_passphrase(client: DeviceClient, actor: Actor, journal: Journal | None, user_id: str) -> Secret:
    """Set a new generated passphrase for `user_id` (never `admin`: rotation owns it)."""
    dev_users.refuse_admin_passphrase(user_id)
    refuse_foreign(actor, user_id)
    secret = new_passphrase(user_id)
    try:
        journaled(
            client,
            actor,
            journal,
            "admin.user.passphrase",
            user_id,
            lambda: dev_users.set_passphrase(client, actor.credentials(), user_id, secret),
        )
    except BaseException:
        secret.wipe()
        raise
    return secret


def delete_user(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    user_id: str,
    namespaces: frozenset[str] = frozenset(),
) -> None:
    refuse_foreign(actor, user_id, namespaces)
    journaled(
        client,
        actor,
        journal,
        "admin.user.delete",
        user_id,
        lambda: dev_users.delete_user(client, actor.credentials(), user_id),
    )


def change_tags(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    user_id: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
) -> None:
    """Operator tags by difference: only what changes is sent."""
    creds = actor.credentials()
    send = (
        partial(dev_users.add_tag, client, creds, user_id),
        partial(dev_users.remove_tag, client, creds, user_id),
    )
    journaled_tags(client, actor, journal, "user", user_id, (add, remove), send)


def save_passphrase_file(secret: Secret, path: Path) -> Path:
    """Write the passphrase to a new 0600 file the person named (never over an existing file)."""
    if path.exists():
        raise InputError(f"{path} already exists.", "Name a new file; nothing was overwritten.")
    return write_private(path, secret.reveal() + b"\n")


def keep_in_keyring(vault: CredentialVault, profile: str, user_id: str, secret: Secret) -> None:
    if not vault.available:
        raise InputError("There is no OS keyring here.", "Write the passphrase to a file instead.")
    if not vault.set(profile, user_id, secret):
        raise InputError("The OS keyring refused to store the passphrase.", "Write it to a file instead.")


# --- namespaces ----------------------------------------------------------------------------------
def namespace_overview(client: DeviceClient, actor: Actor) -> list[NamespaceInfo]:
    """Namespaces with their users. Key counts stay unknown: a root Administrator cannot see
    namespaced keys (reference §4.1) and only root Administrators may list namespaces."""
    if actor.namespace:
        raise AuthError(
            f"{actor.user_id} administers namespace {actor.namespace} only; "
            "namespaces are listed and created by root Administrators.",
            "Open a quorum admin session or sign in as a root Administrator.",
        )
    creds = actor.credentials()
    names = dev_ns.list_namespaces(client, creds)
    ids = dev_users.list_user_ids(client, creds)
    by_ns: dict[str, list[str]] = {}
    for uid in ids:
        ns = split_user_id(uid)[0]
        if ns:
            by_ns.setdefault(ns, []).append(uid)
    infos = [NamespaceInfo(n, tuple(by_ns.pop(n, ()))) for n in names]
    # Users created for a namespace that does not exist (yet): shown so they can be finished.
    infos += [NamespaceInfo(n, tuple(u), exists=False) for n, u in sorted(by_ns.items())]
    return infos


def create_namespace(
    client: DeviceClient,
    actor: Actor,
    journal: Journal | None,
    namespace: str,
    admin_name: str,
    real_name: str,
) -> tuple[str, Secret]:
    """In the device's order: the namespace's Administrator `ns~admin_name` first (a root
    Administrator can only create it while the namespace does not exist), then the namespace."""
    check_id(namespace, "Namespace")
    check_id(admin_name, "Administrator name")
    if actor.namespace:
        raise AuthError("Only a root Administrator creates namespaces.", "")
    user_id = f"{namespace}~{admin_name}"
    creds = actor.credentials()
    if namespace in dev_ns.list_namespaces(client, creds):
        raise InputError(f"Namespace {namespace} already exists.", "Choose another name.")
    if user_id in set(dev_users.list_user_ids(client, creds)):
        # Left by an interrupted run: its passphrase is unknown here, so it gets a new one, while
        # the namespace does not exist yet (afterwards only its own administrators could).
        secret = new_passphrase(user_id)
        try:
            journaled(
                client,
                actor,
                journal,
                "admin.user.passphrase",
                user_id,
                lambda: dev_users.set_passphrase(client, creds, user_id, secret),
            )
        except BaseException:
            secret.wipe()
            raise
    else:
        user_id, secret = create_user(client, actor, journal, user_id, real_name, UserRole.ADMINISTRATOR)
    try:
        journaled(
            client,
            actor,
            journal,
            "admin.namespace.create",
            namespace,
            lambda: dev_ns.create_namespace(client, creds, namespace),
        )
    except BaseException:
        secret.wipe()
        raise
    return user_id, secret


def delete_namespace(client: DeviceClient, actor: Actor, journal: Journal | None, namespace: str) -> None:
    """Delete a namespace and every key in it (its users stay, powerless)."""
    if actor.namespace:
        raise AuthError("Only a root Administrator deletes namespaces.", "")
    journaled(
        client,
        actor,
        journal,
        "admin.namespace.delete",
        namespace,
        lambda: dev_ns.delete_namespace(client, actor.credentials(), namespace),
    )


def deletion_consequence(info: NamespaceInfo) -> str:
    users = ", ".join(info.users) if info.users else "none"
    return (
        f"Every key in namespace {info.namespace} is destroyed: whatever they sign or decrypt stops "
        f"working, for good unless a backup is restored. Its users ({users}) stay but can do nothing."
    )


def user_rows(users: list[UserInfo]) -> list[UserInfo]:
    return sorted(users, key=lambda u: u.user_id.encode())
