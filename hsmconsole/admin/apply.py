"""Carry out a plan on a device: one session per actor, each change journaled, a report of what was done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.admin.passphrases import Passphrases
from hsmconsole.admin.plan import Change, Op, Plan
from hsmconsole.admin.state import Actors
from hsmconsole.device import keys as device_keys
from hsmconsole.device import namespaces as device_namespaces
from hsmconsole.device import users as device_users
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.journal.chain import Journal, JournalRefused, Outcome, record

# Called before each change with (index, total, change); raising stops the apply there.
Progress = Callable[[int, int, Change], None]


@dataclass(frozen=True)
class ApplyReport:
    """What happened: `applied` went through, `failed` was refused or broke (with `error`), and
    `not_applied` were never sent. Running apply again plans afresh and continues from here."""

    applied: tuple[Change, ...]
    failed: Change | None = None
    error: HsmConsoleError | None = None
    not_applied: tuple[Change, ...] = ()
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.not_applied and not self.interrupted


def _journal(
    journal: Journal | None, who: str, device: str, change: Change, outcome: Outcome, why: str = ""
) -> None:
    detail = change.describe()[2:][:250] + (f" ({why})" if why else "")
    try:
        record(journal, f"admin.{change.op.value}", outcome, actor=who, device_id=device, detail=detail)
    except JournalRefused:
        # The secret filter is cautious (a long random key id can look like a key): keep the
        # entry, without the text it refused. Never stop an apply half-way over a journal note.
        record(journal, f"admin.{change.op.value}", outcome, actor=who, device_id=device)


def _run(change: Change, batch: Caller, creds: Credentials, passphrases: Passphrases) -> None:
    op = change.op
    ns, _, key_id = change.target.rpartition("/")
    del ns
    if op is Op.USER_CREATE:
        assert change.user is not None
        user = change.user
        secret = passphrases.for_new_user(user)
        try:
            device_users.add_user(batch, creds, user.user_id, user.real_name, user.role, secret)
        finally:
            secret.wipe()
    elif op is Op.USER_DELETE:
        device_users.delete_user(batch, creds, change.target)
    elif op is Op.USER_TAG_ADD:
        device_users.add_tag(batch, creds, change.target, change.value)
    elif op is Op.USER_TAG_REMOVE:
        device_users.remove_tag(batch, creds, change.target, change.value)
    elif op is Op.NAMESPACE_CREATE:
        device_namespaces.create_namespace(batch, creds, change.target)
    elif op is Op.NAMESPACE_DELETE:
        device_namespaces.delete_namespace(batch, creds, change.target)
    elif op is Op.KEY_GENERATE:
        assert change.key is not None
        k = change.key
        # Tags follow as changes of their own, so that each request is journaled and an
        # interrupted apply knows exactly which ones were made.
        device_keys.generate_key(batch, creds, k.type, k.mechanisms, k.length, key_id=k.key_id, label=k.label)
    elif op is Op.KEY_DELETE:
        device_keys.delete_key(batch, creds, key_id)
    elif op is Op.KEY_TAG_ADD:
        device_keys.add_tag(batch, creds, key_id, change.value)
    elif op is Op.KEY_TAG_REMOVE:
        device_keys.remove_tag(batch, creds, key_id, change.value)
    elif op is Op.KEY_LABEL:
        device_keys.set_label(batch, creds, key_id, change.value)
    elif op is Op.KEY_CERT_DELETE:
        device_keys.delete_certificate(batch, creds, key_id)
    elif op is Op.KEY_CERT_SET:
        assert change.key is not None and change.key.certificate is not None
        try:
            data = change.key.certificate.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {change.key.certificate}: {exc.strerror}", "") from None
        device_keys.set_certificate(batch, creds, key_id, data)
    else:  # pragma: no cover - every Op is handled above
        raise AssertionError(op)


def apply_plan(
    client: DeviceClient,
    plan: Plan,
    actors: Actors,
    passphrases: Passphrases,
    *,
    journal: Journal | None = None,
    progress: Progress | None = None,
) -> ApplyReport:
    """Make the changes in order, one TLS session per run of changes by the same actor. The first
    error stops the apply (later changes may depend on it) and is reported, never raised; so is
    Ctrl+C. Conflicts are the caller's to refuse before calling this."""
    changes = plan.changes
    total = len(changes)
    device = client.profile.name
    applied: list[Change] = []
    i = 0
    current: Change | None = None
    try:
        passphrases.prepare([c.user for c in changes if c.op is Op.USER_CREATE and c.user is not None])
        while i < total:
            actor = changes[i].actor
            creds = actors.creds(actor)
            with client.batch(creds) as batch:
                while i < total and changes[i].actor == actor:
                    current = changes[i]
                    if progress is not None:
                        progress(i, total, current)
                    _run(current, batch, creds, passphrases)
                    _journal(journal, creds.user_id, device, current, Outcome.OK)
                    applied.append(current)
                    current = None
                    i += 1
    except HsmConsoleError as exc:
        failed = current if current is not None else changes[i]
        _journal(journal, actors.root.user_id, device, failed, Outcome.FAILED, exc.kind.value)
        return ApplyReport(tuple(applied), failed, exc, changes[i + 1 :])
    except KeyboardInterrupt:
        return ApplyReport(tuple(applied), None, None, changes[i:], interrupted=True)
    finally:
        actors.forget()
    return ApplyReport(tuple(applied))
