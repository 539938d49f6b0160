"""Read what a device holds (the planner's Snapshot), acting as root and as each namespace's administrator."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hsmconsole.admin.model import AdminConfig
from hsmconsole.admin.passphrases import Passphrases
from hsmconsole.admin.plan import Plan, Snapshot, make_plan
from hsmconsole.device import keys as device_keys
from hsmconsole.device import namespaces as device_namespaces
from hsmconsole.device import users as device_users
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.errors import StateError
from hsmconsole.inventory import KeyInfo, KeyType, split_user_id

T = TypeVar("T")


class Actors:
    """Credentials for each actor of a plan: "" is the person running it (a root Administrator,
    or a namespace's administrator); a namespace name is that namespace's administrator from the
    configuration, whose passphrase is read from its source when first needed."""

    def __init__(self, root: Credentials, config: AdminConfig | None, passphrases: Passphrases) -> None:
        self.root = root
        self.config = config
        self.passphrases = passphrases
        self._cache: dict[str, Credentials] = {}

    @property
    def own_namespace(self) -> str:
        return split_user_id(self.root.user_id)[0]

    def creds(self, actor: str) -> Credentials:
        if actor == "" or actor == self.own_namespace:
            return self.root
        if actor in self._cache:
            return self._cache[actor]
        spec = self.config.namespace_admin(actor) if self.config is not None else None
        if spec is None:
            raise StateError(
                f"no administrator of namespace {actor} is known",
                f"Declare one ({actor}~NAME, role Administrator) with its passphrase source.",
            )
        creds = Credentials(spec.user_id, self.passphrases.for_use(spec))
        self._cache[actor] = creds
        return creds

    def forget(self) -> None:
        """Wipe the namespace administrators' passphrases read for this run (not the root's)."""
        for creds in self._cache.values():
            creds.passphrase.wipe()
        self._cache.clear()


@dataclass(frozen=True)
class NamespaceKeys:
    namespace: str
    keys: tuple[KeyInfo, ...]


# Reading many keys or users: a few sessions side by side, each on its own kept-alive connection,
# so that the device works on one request while the answer to another is decoded here.
READERS = 3
_CHUNK_MIN = 64


def read_many(
    client: DeviceClient,
    creds: Credentials,
    ids: list[str],
    read: Callable[[Caller, Credentials, list[str]], list[T]],
) -> list[T]:
    """`read` over `ids` in up to READERS sessions at once (one when there are few), in order."""
    if len(ids) < 2 * _CHUNK_MIN:
        with client.batch(creds) as batch:
            return read(batch, creds, ids)
    size = -(-len(ids) // READERS)
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]

    def one(chunk: list[str]) -> list[T]:
        with client.batch(creds) as batch:
            return read(batch, creds, chunk)

    with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="admin-read") as pool:
        return [item for part in pool.map(one, chunks) for item in part]


def _keys_of(client: DeviceClient, creds: Credentials) -> list[KeyInfo]:
    ids = device_keys.list_key_ids(client, creds)
    return read_many(client, creds, ids, device_keys.get_keys)


def read_snapshot(client: DeviceClient, actors: Actors, config: AdminConfig | None) -> Snapshot:
    """Users (with tags), namespaces, root keys, and the keys of every namespace the configuration
    declares that exists (read as its administrator: root cannot see them, reference §4.1). A
    namespace's own administrator running this sees only its namespace."""
    root = actors.root
    own = actors.own_namespace
    keys: dict[tuple[str, str], KeyInfo] = {}
    with client.batch(root) as batch:
        ids = device_users.list_user_ids(batch, root)
        namespaces = (
            frozenset(device_namespaces.list_namespaces(batch, root)) if not own else frozenset({own})
        )
    users = {u.user_id: u for u in read_many(client, root, ids, device_users.get_users)}
    keys.update({(own, k.key_id): k for k in _keys_of(client, root)})
    wanted = [n.namespace for n in config.namespaces] if config is not None else []
    for ns in wanted:
        if ns == own or ns not in namespaces:
            continue
        creds = actors.creds(ns)
        keys.update({(ns, k.key_id): k for k in _keys_of(client, creds)})
    certificates: dict[tuple[str, str], str | None] = {}
    for spec in config.keys if config is not None else ():
        if spec.certificate is None or spec.ref not in keys:
            continue
        data = device_keys.get_certificate(client, actors.creds(spec.namespace), spec.key_id)
        certificates[spec.ref] = hashlib.sha256(data).hexdigest() if data is not None else None
    return Snapshot(namespaces, users, keys, certificates)


def compute_plan(client: DeviceClient, config: AdminConfig, actors: Actors, *, prune: bool = False) -> Plan:
    """Read the device and plan the difference (nothing is changed). A namespace's administrator
    running it plans only its namespace: the device shows it nothing else (reference §4.1)."""
    own = actors.own_namespace
    if own:
        config = config.only_namespace(own)
    plan = make_plan(
        config, read_snapshot(client, actors, config), prune=prune, acting_user=actors.root.user_id
    )
    if own:
        note = (
            f"acting as {actors.root.user_id}: only namespace {own} was compared; run as a root "
            "Administrator for the rest of the file"
        )
        plan = replace(plan, notes=(*plan.notes, note))
    return plan


def _key_json(ns: str, key: KeyInfo, pem: str) -> dict[str, object]:
    return {
        "namespace": ns, "id": key.key_id, "type": key.type.value,
        "mechanisms": [m.value for m in key.mechanisms], "bits": key.bits, "tags": list(key.tags),
        "label": key.label, "operations": key.operations, "public_key_pem": pem or None,
    }  # fmt: skip


def read_inventory(client: DeviceClient, actors: Actors, config: AdminConfig | None) -> dict[str, Any]:
    """What the device holds, for automation: users, namespaces, and keys with their public keys
    (namespaced keys for the namespaces whose administrator `config` gives a passphrase for)."""
    snap = read_snapshot(client, actors, config)
    readable = {ns for ns, _ in snap.keys} | {actors.own_namespace}
    if config is not None:
        readable |= {n.namespace for n in config.namespaces if n.namespace in snap.namespaces}
    keys_out: list[dict[str, object]] = []
    by_ns: dict[str, list[KeyInfo]] = {}
    for (ns, _), key in sorted(snap.keys.items()):
        by_ns.setdefault(ns, []).append(key)
    for ns, infos in by_ns.items():
        creds = actors.creds(ns)
        with client.batch(creds) as batch:
            for key in infos:
                pem = (
                    ""
                    if key.type is KeyType.GENERIC
                    else device_keys.public_key_pem(batch, creds, key.key_id)
                )
                keys_out.append(_key_json(ns, key, pem))
    return {
        "namespaces": sorted(snap.namespaces),
        "users": [
            {
                "id": u.user_id,
                "name": u.real_name,
                "role": u.role.value,
                "namespace": u.namespace or None,
                "tags": list(u.tags),
            }
            for u in sorted(snap.users.values(), key=lambda u: u.user_id)
        ],
        "keys": keys_out,
        "unread_namespaces": sorted(snap.namespaces - readable),
    }
