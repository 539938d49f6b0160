"""Administration core (who acts, users, namespaces, key test) against the emulator over HTTPS."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsmconsole.access.session import AdminSession
from hsmconsole.admin import keyops, people
from hsmconsole.admin.actor import Actor, actor_from_session, sign_in_administrator
from hsmconsole.admin.catalog import Catalog, Filter
from hsmconsole.admin.keytest import exercise_key
from hsmconsole.device import keys, users
from hsmconsole.device.client import Credentials, DeviceClient, WrongCredentials
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.errors import AuthError, InputError
from hsmconsole.inventory import KEY_KINDS, KeyInfo, KeyMechanism, KeyTestKind, KeyType, UserInfo
from hsmconsole.journal.chain import Journal
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

from .conftest import ADMIN_PASSPHRASE


@pytest.fixture
def client(provisioned: EmbeddedEmulator) -> Iterator[DeviceClient]:
    yield DeviceClient(Profile("t", provisioned.host_port, fingerprint=provisioned.fingerprint))


def root() -> Actor:
    return actor_from_session(AdminSession(Credentials("admin", Secret(ADMIN_PASSPHRASE))))


def test_namespace_admin_signs_in_and_sees_only_its_namespace(client: DeviceClient, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    user_id, secret = people.create_namespace(client, root(), journal, "repo", "boss", "Repo boss")
    assert user_id == "repo~boss" and len(secret) == 52
    with pytest.raises(InputError, match="already exists"):
        people.create_namespace(client, root(), journal, "repo", "boss", "x")
    ns_admin, kept = sign_in_administrator(
        client,
        CredentialVault(),
        Credentials(user_id, Secret(secret.reveal())),
        from_keyring=False,
        remember=False,
    )
    assert not kept and ns_admin.namespace == "repo"
    assert "administrator of namespace repo" in ns_admin.describe()
    op_id, _ = people.create_user(client, ns_admin, journal, "op", "Operator", UserRole.OPERATOR)
    assert op_id == "repo~op"
    with pytest.raises(AuthError, match="not in namespace repo"):
        people.delete_user(client, ns_admin, journal, "admin")
    with pytest.raises(AuthError, match="root Administrators"):
        people.namespace_overview(client, ns_admin)
    overview = people.namespace_overview(client, root())
    assert [(n.namespace, n.users) for n in overview] == [("repo", ("repo~boss", "repo~op"))]
    # A root administrator may not change users of an existing namespace: said before sending.
    with pytest.raises(AuthError, match="only administrators of namespace repo"):
        people.delete_user(client, root(), journal, "repo~op", frozenset({"repo"}))
    assert "every key" in people.deletion_consequence(overview[0]).lower()
    events = [e.event.action for e in journal.entries()]
    assert "admin.namespace.create" in events and "admin.user.create" in events
    assert secret.reveal_str() not in (tmp_path / "journal").read_text()


def test_sign_in_refuses_admin_non_administrators_and_missing_namespace(client: DeviceClient) -> None:
    vault = CredentialVault()
    with pytest.raises(InputError, match="quorum"):
        sign_in_administrator(
            client, vault, Credentials("admin", Secret(ADMIN_PASSPHRASE)), from_keyring=False, remember=False
        )
    users.add_user(client, root().credentials(), "op", "Op", UserRole.OPERATOR, Secret("op-passphrase"))
    with pytest.raises(AuthError, match="not an Administrator"):
        sign_in_administrator(
            client, vault, Credentials("op", Secret("op-passphrase")), from_keyring=False, remember=False
        )
    users.add_user(
        client, root().credentials(), "ghost~a", "G", UserRole.ADMINISTRATOR, Secret("ghost-passphrase")
    )
    with pytest.raises(AuthError, match="does not exist yet"):
        sign_in_administrator(
            client,
            vault,
            Credentials("ghost~a", Secret("ghost-passphrase")),
            from_keyring=False,
            remember=False,
        )
    creds = Credentials("op", Secret("wrong-passphrase"))
    with pytest.raises(WrongCredentials):
        sign_in_administrator(client, vault, creds, from_keyring=False, remember=False)
    assert creds.passphrase.wiped


def test_reset_passphrase_and_file(client: DeviceClient, tmp_path: Path) -> None:
    actor = root()
    uid, _ = people.create_user(client, actor, None, "ops", "Ops", UserRole.OPERATOR)
    with pytest.raises(InputError, match="rotation"):
        people.reset_passphrase(client, actor, None, "admin")
    second = people.reset_passphrase(client, actor, None, uid)
    client.check_user(Credentials(uid, Secret(second.reveal())))
    path = people.save_passphrase_file(second, tmp_path / "ops.pass")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().strip() == second.reveal()
    with pytest.raises(InputError, match="already exists"):
        people.save_passphrase_file(second, path)
    people.change_tags(client, actor, None, uid, ("a", "b"), ())
    people.change_tags(client, actor, None, uid, (), ("a",))
    assert users.get_user(client, actor.credentials(), uid).tags == ("b",)


@pytest.mark.slow
@pytest.mark.parametrize("key_type", list(KEY_KINDS))
def test_exercise_every_key_type(client: DeviceClient, key_type: KeyType) -> None:
    actor = root()
    users.add_user(client, actor.credentials(), "op", "Op", UserRole.OPERATOR, Secret("op-passphrase"))
    kind = KEY_KINDS[key_type]
    length = 2048 if key_type is KeyType.RSA else None
    kid = keyops.generate(client, actor, None, key_type, kind.mechanisms, length, key_id="k")
    info = keys.get_key(client, actor.credentials(), kid)
    result = exercise_key(client, Credentials("op", Secret("op-passphrase")), info)
    assert result.ok, result.detail
    if key_type is KeyType.GENERIC:
        assert result.kind is KeyTestKind.AES_ROUND_TRIP


def test_exercise_decrypt_only_rsa_and_pss(client: DeviceClient) -> None:
    actor = root()
    users.add_user(client, actor.credentials(), "op", "Op", UserRole.OPERATOR, Secret("op-passphrase"))
    op = Credentials("op", Secret("op-passphrase"))
    for kid, mech in (
        ("dec", KeyMechanism.RSA_DECRYPTION_OAEP_SHA256),
        ("pss", KeyMechanism.RSA_SIGNATURE_PSS_SHA384),
        ("p1", KeyMechanism.RSA_DECRYPTION_PKCS1),
    ):
        keyops.generate(client, actor, None, KeyType.RSA, (mech,), 2048, key_id=kid)
        result = exercise_key(client, op, keys.get_key(client, actor.credentials(), kid))
        assert result.ok, result.detail
    keyops.generate(
        client, actor, None, KeyType.GENERIC, (KeyMechanism.AES_ENCRYPTION_CBC,), 128, key_id="half"
    )
    with pytest.raises(InputError, match="round trip"):
        exercise_key(client, op, keys.get_key(client, actor.credentials(), "half"))


def test_catalog_filters_and_chunks() -> None:
    cat: Catalog[KeyInfo] = Catalog([f"k{i:03}" for i in range(500)], key=lambda k: k.key_id)
    first = cat.next_chunk(200)
    assert first[0] == "k000" and len(first) == 200
    cat.add(
        KeyInfo(k, KeyType.RSA if i % 2 else KeyType.CURVE25519, (), tags=("web",) if i % 5 == 0 else ())
        for i, k in enumerate(first)
    )
    shown, pending = cat.select(Filter.parse("tag:web"))
    assert len(shown) == 40 and pending == 300
    shown, pending = cat.select(Filter.parse("k01 type:ed25519"))
    assert shown == ["k010", "k012", "k014", "k016", "k018"] and pending == 0
    assert cat.select(Filter.parse("k49"))[0] == [f"k49{i}" for i in range(10)]
    assert cat.next_chunk(1000)[0] == "k200" and cat.next_chunk() == []
    users_cat: Catalog[UserInfo] = Catalog(["a", "repo~b"], key=lambda u: u.user_id)
    users_cat.add([UserInfo("repo~b", "B", UserRole.OPERATOR), UserInfo("a", "A", UserRole.METRICS)])
    assert users_cat.select(Filter.parse("ns:repo"))[0] == ["repo~b"]
    assert users_cat.select(Filter.parse("role:metrics"))[0] == ["a"]


def test_tag_changes_are_sent_one_by_one_and_journaled(client: DeviceClient, tmp_path: Path) -> None:
    """Users' and keys' tags by difference: a bad tag refuses the whole change before anything is
    sent; each sent change is one journal line naming the item and the tag."""
    journal = Journal(tmp_path / "journal")
    actor = root()
    uid, _ = people.create_user(client, actor, None, "ops", "Ops", UserRole.OPERATOR)
    signing = (KeyMechanism.ECDSA_SIGNATURE,)
    key_id = keyops.generate(client, actor, None, KeyType.EC_P256, signing, None, "k1")
    with pytest.raises(InputError):
        keyops.change_tags(client, actor, journal, key_id, ("good", "not ok!"), ())
    assert keys.get_key(client, actor.credentials(), key_id).tags == ()
    people.change_tags(client, actor, journal, uid, ("a", "b"), ())
    people.change_tags(client, actor, journal, uid, (), ("a",))
    keyops.change_tags(client, actor, journal, key_id, ("x", "y"), ())
    keyops.change_tags(client, actor, journal, key_id, (), ("y",))
    assert users.get_user(client, actor.credentials(), uid).tags == ("b",)
    assert keys.get_key(client, actor.credentials(), key_id).tags == ("x",)
    assert [(e.event.action, e.event.detail) for e in journal.entries()] == [
        ("admin.user.tag.add", f"{uid} a"),
        ("admin.user.tag.add", f"{uid} b"),
        ("admin.user.tag.remove", f"{uid} a"),
        ("admin.key.tag.add", "k1 x"),
        ("admin.key.tag.add", "k1 y"),
        ("admin.key.tag.remove", "k1 y"),
    ]
