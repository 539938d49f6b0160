"""The planner: order of changes, tags by difference, conflicts, --prune; plan after apply is empty."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.admin.config import parse_config
from hsmconsole.admin.model import AdminConfig
from hsmconsole.admin.plan import Change, Op, Snapshot, make_plan
from hsmconsole.inventory import KeyInfo, KeyMechanism, KeyType, UserInfo
from hsmconsole.models import UserRole
from tests.admin_configs import config_docs, to_toml
from tests.unit.test_admin_config import GOOD


def simulate(now: Snapshot, changes: tuple[Change, ...]) -> Snapshot:
    """What a device would hold after these changes (the device's rules, reference §4.1)."""
    ns_set = set(now.namespaces)
    users = dict(now.users)
    keys = dict(now.keys)
    for c in changes:
        if c.op is Op.USER_CREATE:
            assert c.user is not None and c.target not in users
            ns = c.user.namespace
            # Root may create users only in a namespace that does not exist yet; inside, its admin.
            assert (c.actor == "" and ns not in ns_set) or c.actor == ns
            users[c.target] = UserInfo(c.target, c.user.real_name, c.user.role)
        elif c.op is Op.NAMESPACE_CREATE:
            assert c.actor == "" and c.target not in ns_set
            ns_set.add(c.target)
        elif c.op in (Op.USER_TAG_ADD, Op.USER_TAG_REMOVE):
            u = users[c.target]
            assert u.role is UserRole.OPERATOR
            tags = set(u.tags) | {c.value} if c.op is Op.USER_TAG_ADD else set(u.tags) - {c.value}
            assert tags != set(u.tags), "a tag change that changes nothing"
            users[c.target] = replace(u, tags=tuple(sorted(tags)))
        elif c.op is Op.KEY_GENERATE:
            assert c.key is not None and c.key.ref not in keys
            assert c.actor == c.key.namespace and (c.actor == "" or c.actor in ns_set)
            bits = c.key.length if c.key.type is KeyType.RSA else None
            keys[c.key.ref] = KeyInfo(
                c.key.key_id, c.key.type, tuple(c.key.mechanisms), (), c.key.label, bits=bits
            )
        elif c.op in (Op.KEY_TAG_ADD, Op.KEY_TAG_REMOVE, Op.KEY_LABEL, Op.KEY_DELETE):
            ns, _, key_id = c.target.rpartition("/")
            k = keys[(ns, key_id)]
            if c.op is Op.KEY_DELETE:
                del keys[(ns, key_id)]
            elif c.op is Op.KEY_LABEL:
                keys[(ns, key_id)] = replace(k, label=c.value)
            else:
                tags = set(k.tags) | {c.value} if c.op is Op.KEY_TAG_ADD else set(k.tags) - {c.value}
                keys[(ns, key_id)] = replace(k, tags=tuple(sorted(tags)))
        elif c.op is Op.USER_DELETE:
            del users[c.target]
        elif c.op is Op.NAMESPACE_DELETE:
            ns_set.discard(c.target)
            keys = {ref: k for ref, k in keys.items() if ref[0] != c.target}
    return Snapshot(frozenset(ns_set), users, keys)


def config_of(text: str, tmp_path: Path) -> AdminConfig:
    return parse_config(text, tmp_path / "admin.toml")


def test_first_plan_orders_users_namespace_then_keys(tmp_path: Path) -> None:
    plan = make_plan(config_of(GOOD, tmp_path), Snapshot())
    ops = [(c.op, c.target, c.actor) for c in plan.changes]
    assert ops == [
        (Op.USER_CREATE, "repo~admin", ""),
        (Op.USER_CREATE, "repo~signer", ""),
        (Op.NAMESPACE_CREATE, "repo", ""),
        (Op.USER_TAG_ADD, "repo~signer", "repo"),
        (Op.KEY_GENERATE, "repo/repo-rsa", "repo"),
        (Op.KEY_TAG_ADD, "repo/repo-rsa", "repo"),
    ]
    assert plan.changes[-2].describe().startswith("+ generate key repo/repo-rsa (RSA 3072 bits")


def test_tags_change_by_difference_and_conflicts_are_never_replaced(tmp_path: Path) -> None:
    config = config_of(GOOD, tmp_path)
    now = Snapshot(
        frozenset({"repo"}),
        {
            "repo~admin": UserInfo("repo~admin", "Repository administrator", UserRole.ADMINISTRATOR),
            "repo~signer": UserInfo("repo~signer", "repo~signer", UserRole.OPERATOR, ("old", "repo")),
        },
        {
            ("repo", "repo-rsa"): KeyInfo(
                "repo-rsa",
                KeyType.RSA,
                (KeyMechanism.RSA_SIGNATURE_PKCS1,),
                ("repo", "x"),
                "Repository signing",
                bits=3072,
            )
        },
    )
    plan = make_plan(config, now)
    assert [(c.op, c.value) for c in plan.changes] == [(Op.USER_TAG_REMOVE, "old"), (Op.KEY_TAG_REMOVE, "x")]
    wrong = dict(now.keys)
    wrong[("repo", "repo-rsa")] = replace(
        wrong[("repo", "repo-rsa")], type=KeyType.CURVE25519, mechanisms=(KeyMechanism.EDDSA_SIGNATURE,)
    )
    plan = make_plan(config, replace(now, keys=wrong))
    assert [c.target for c in plan.conflicts] == ["key repo/repo-rsa"] and plan.conflicts[0].line == 16
    assert not any(c.target == "repo/repo-rsa" for c in plan.changes)
    short = {("repo", "repo-rsa"): replace(now.keys[("repo", "repo-rsa")], bits=2048)}
    assert "2048 bits" in make_plan(config, replace(now, keys=short)).conflicts[0].reason
    role = dict(now.users)
    role["repo~signer"] = replace(role["repo~signer"], role=UserRole.METRICS, tags=())
    plan = make_plan(config, replace(now, users=role))
    assert [c.target for c in plan.conflicts] == ["user repo~signer"]


def test_deletions_only_with_prune_and_first(tmp_path: Path) -> None:
    config = config_of(GOOD, tmp_path)
    done = simulate(Snapshot(frozenset({"old"})), make_plan(config, Snapshot(frozenset({"old"}))).changes)
    users = dict(done.users)
    users["stray"] = UserInfo("stray", "stray", UserRole.METRICS)
    users["admin"] = UserInfo("admin", "admin", UserRole.ADMINISTRATOR)
    users["old~x"] = UserInfo("old~x", "x", UserRole.OPERATOR)
    users["repo~gone"] = UserInfo("repo~gone", "gone", UserRole.OPERATOR)
    keys = dict(done.keys)
    keys[("repo", "stale")] = KeyInfo("stale", KeyType.CURVE25519, (KeyMechanism.EDDSA_SIGNATURE,))
    keys[("", "rootkey")] = KeyInfo("rootkey", KeyType.CURVE25519, (KeyMechanism.EDDSA_SIGNATURE,))
    keys[("old", "hidden")] = KeyInfo("hidden", KeyType.CURVE25519, (KeyMechanism.EDDSA_SIGNATURE,))
    now = replace(done, users=users, keys=keys)
    keep = make_plan(config, now)
    assert keep.changes == () and len(keep.unmanaged) == 6
    pruned = make_plan(config, now, prune=True)
    assert all(c.op.destructive for c in pruned.changes)
    assert [(c.op, c.target, c.actor) for c in pruned.changes] == [
        (Op.KEY_DELETE, "rootkey", ""),
        (Op.KEY_DELETE, "repo/stale", "repo"),
        (Op.USER_DELETE, "repo~gone", "repo"),
        (Op.NAMESPACE_DELETE, "old", ""),
        (Op.USER_DELETE, "old~x", ""),
        (Op.USER_DELETE, "stray", ""),
    ]
    after = simulate(now, pruned.changes)
    assert make_plan(config, after, prune=True).empty and set(after.users) - set(done.users) == {"admin"}


@given(doc=config_docs(), data=st.data())
def test_plan_after_applying_any_plan_is_empty(
    tmp_path_factory: pytest.TempPathFactory, doc: dict, data: st.DataObject
) -> None:
    config = config_of(to_toml(doc), tmp_path_factory.mktemp("cfg"))
    start = Snapshot()
    first = make_plan(config, start)
    # Interrupted anywhere and run again, it converges to the same end.
    cut = data.draw(st.integers(0, len(first.changes)))
    half = simulate(start, first.changes[:cut])
    second = make_plan(config, half)
    assert not second.conflicts
    end = simulate(half, second.changes)
    assert make_plan(config, end).empty
    assert make_plan(config, end, prune=True).empty
    assert end == simulate(start, first.changes)
