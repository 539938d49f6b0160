"""`hsmconsole backup …`: make, inspect, compare, restore and rehearse NetHSM backups."""

from __future__ import annotations

import argparse
import json
import sys

from hsmconsole.backup.inspect import BackupReport, inspect_backup
from hsmconsole.backup.inventory import InventoryDiff, diff_inventories
from hsmconsole.commands.backup_input import Obtained, add_secret_options, obtain
from hsmconsole.commands.common import usage
from hsmconsole.errors import InputError


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser(
        "backup",
        help="make, inspect, compare, restore and rehearse backups",
        description="NetHSM backups. Passphrases come from files, custodians' share files or a "
        "hidden prompt, never the command line.",
    )
    backup.set_defaults(handler=lambda _args: usage(backup))
    bsub = backup.add_subparsers(dest="backup_command", metavar="ACTION")

    p = bsub.add_parser("inspect", help="show what a backup file holds, offline (no device needed)")
    p.add_argument("file", help="the backup file")
    _passphrase_options(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(handler=_inspect)

    p = bsub.add_parser("diff", help="say what changed between two backups (same passphrases)")
    p.add_argument("old", help="the older backup file")
    p.add_argument("new", help="the newer backup file")
    _passphrase_options(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(handler=_diff)

    from hsmconsole.commands import backup_device

    backup_device.configure(bsub)


def _passphrase_options(p: argparse.ArgumentParser) -> None:
    add_secret_options(p, "backup")
    add_secret_options(p, "unlock")
    p.add_argument("--no-prompt", action="store_true", help="never ask at the terminal")


def _secrets(args: argparse.Namespace) -> tuple[Obtained | None, Obtained | None]:
    backup = obtain(args, "backup", required=False)
    unlock = obtain(args, "unlock", required=False) if backup is not None else None
    return backup, unlock


def _wipe(*items: Obtained | None) -> None:
    for item in items:
        if item is not None:
            item.secret.wipe()


def _inspect(args: argparse.Namespace) -> int:
    backup, unlock = _secrets(args)
    try:
        report = inspect_backup(
            args.file,
            backup_passphrase=backup.secret if backup else None,
            unlock_passphrase=unlock.secret if unlock else None,
        )
    finally:
        _wipe(backup, unlock)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report)
    return 0


def print_report(report: BackupReport) -> None:
    print(f"Backup file:     {report.path}")
    print(f"Size, SHA-256:   {report.size} bytes, {report.sha256}")
    print(f"Format version:  {report.version}")
    if not report.opened:
        print("Contents:        not opened (give the backup passphrase to see them)", file=sys.stderr)
        return
    print(f"Device id:       {report.device_id or '(not recorded in format 0)'}")
    print(f"Records:         {report.records}")
    inv = report.inventory
    if not report.detailed:
        print(f"Users ({len(inv.user_ids)}):       {', '.join(inv.user_ids) or '-'}")
        print(f"Namespaces ({len(inv.namespace_ids)}):  {', '.join(inv.namespace_ids) or '-'}")
        print(f"Keys ({len(inv.key_ids)}):        {', '.join(inv.key_ids) or '-'}")
        print("Details:         give the unlock passphrase to see roles, types and tags", file=sys.stderr)
        return
    print(f"Users ({len(inv.users)}):")
    for u in inv.users:
        tags = f"  tags {','.join(u.tags)}" if u.tags else ""
        print(f"  {u.user_id:<32} {u.role:<14} {u.name}{tags}")
    print(f"Namespaces ({len(inv.namespace_ids)}): {', '.join(inv.namespace_ids) or '-'}")
    print(f"Keys ({len(inv.keys)}):")
    for k in inv.keys:
        extra = " certificate" if k.certificate else ""
        extra += f" tags {','.join(k.tags)}" if k.tags else ""
        print(f"  {k.full_id:<32} {k.key_type:<12} {','.join(k.mechanisms)}{extra}")


def _diff(args: argparse.Namespace) -> int:
    backup, unlock = _secrets(args)
    if backup is None:
        _wipe(unlock)
        raise InputError(
            "comparing backups needs the backup passphrase",
            "Give --backup-passphrase-file or --backup-share-file (both backups must share it).",
        )
    try:
        old = inspect_backup(args.old, backup_passphrase=backup.secret,
                             unlock_passphrase=unlock.secret if unlock else None)  # fmt: skip
        new = inspect_backup(args.new, backup_passphrase=backup.secret,
                             unlock_passphrase=unlock.secret if unlock else None)  # fmt: skip
    finally:
        _wipe(backup, unlock)
    diff = diff_inventories(old.inventory, new.inventory)
    if args.json:
        print(json.dumps(_diff_json(old, new, diff), indent=2))
        return 0
    print(f"From {old.path} (device {old.device_id or '?'}, SHA-256 {old.sha256[:16]}…)")
    print(f"  to {new.path} (device {new.device_id or '?'}, SHA-256 {new.sha256[:16]}…)")
    if old.device_id != new.device_id:
        print("Note: the two backups come from different devices.")
    if diff.empty:
        print("No user, namespace or key was added, removed or changed.")
        return 0
    for kind in ("users", "namespaces", "keys"):
        for label, group in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
            ids = group.get(kind, ())
            if ids:
                print(f"{kind} {label} ({len(ids)}): {', '.join(ids)}")
    return 0


def _diff_json(old: BackupReport, new: BackupReport, diff: InventoryDiff) -> dict[str, object]:
    return {
        "old": {"path": old.path, "sha256": old.sha256, "device_id": old.device_id or None},
        "new": {"path": new.path, "sha256": new.sha256, "device_id": new.device_id or None},
        "added": {k: list(v) for k, v in diff.added.items()},
        "removed": {k: list(v) for k, v in diff.removed.items()},
        "changed": {k: list(v) for k, v in diff.changed.items()},
        "details_compared": old.detailed and new.detailed,
    }
