"""`hsmconsole backup create|restore|rehearse`: the backup subcommands that talk to a device."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hsmconsole.backup.create import create_backup
from hsmconsole.backup.rehearse import rehearse
from hsmconsole.backup.restore import (
    RestoreKind,
    check_inventory,
    plan_restore,
    run_restore,
    unlock_restored,
)
from hsmconsole.commands.backup_input import (
    Obtained,
    add_secret_options,
    backup_user_credentials,
    obtain,
    unlock_source,
)
from hsmconsole.commands.inputs import ProgressBar, ask, stdin_is_terminal
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import ProfileStore, default_data_dir
from hsmconsole.errors import InputError, IntegrityError
from hsmconsole.journal.chain import Journal
from hsmconsole.secrets import Secret

CONFIRM_WORD = "restore"


def configure(bsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registered by hsmconsole.commands.backup."""
    p = bsub.add_parser("create", help="download a backup from a device (Backup-role user)")
    _device_options(p)
    p.add_argument("--user", required=True, help="a user with the Backup role")
    p.add_argument("--passphrase-file", metavar="F", help="file holding that user's passphrase")
    p.add_argument("--out-dir", default="backups", help="directory for the backup (default: backups)")
    add_secret_options(p, "backup")
    add_secret_options(p, "admin")
    p.add_argument("--admin-user", default="admin", help="Administrator for system info and listing")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON on stdout")
    p.set_defaults(handler=_create)

    p = bsub.add_parser("restore", help="restore a backup onto a device (disaster recovery)")
    p.add_argument("file", help="the backup file")
    _device_options(p)
    for name in ("backup", "unlock", "admin"):
        add_secret_options(p, name)
    p.add_argument("--admin-user", default="admin", help="the Administrator (default: admin)")
    p.add_argument(
        "--confirm", metavar="WORD",
        help=f"for a partial restore without a terminal: the word '{CONFIRM_WORD}'",
    )  # fmt: skip
    p.set_defaults(handler=_restore)

    p = bsub.add_parser("rehearse", help="restore a backup into a throwaway emulator and check it")
    p.add_argument("file", help="the backup file")
    for name in ("backup", "unlock", "admin"):
        add_secret_options(p, name)
    p.add_argument("--admin-user", default="admin", help="the Administrator (default: admin)")
    p.add_argument("--journal", metavar="FILE", help="journal file (default: none for a rehearsal)")
    p.add_argument("--no-prompt", action="store_true", help="never ask at the terminal")
    p.set_defaults(handler=_rehearse)


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", required=True, help="connection profile (pins the TLS certificate)")
    p.add_argument("--journal", metavar="FILE", help="journal file (default: the console's journal)")
    p.add_argument("--no-prompt", action="store_true", help="never ask at the terminal")


def _journal(args: argparse.Namespace, *, default: bool = True) -> Journal | None:
    if args.journal:
        return Journal(Path(args.journal))
    return Journal(default_data_dir() / "journal.jsonl") if default else None


def _user_credentials(args: argparse.Namespace, profile: str) -> Credentials:
    return backup_user_credentials(profile, args.user, args.passphrase_file, prompt_ok=not args.no_prompt)


def _admin(args: argparse.Namespace, *, required: bool = False) -> Credentials | None:
    got = obtain(args, "admin", required=required, ask=False)
    return Credentials(args.admin_user, got.secret) if got else None


def _wipe(*items: Obtained | Credentials | Secret | None) -> None:
    for item in items:
        if isinstance(item, Obtained):
            item.secret.wipe()
        elif isinstance(item, Credentials):
            item.passphrase.wipe()
        elif isinstance(item, Secret):
            item.wipe()


def _create(args: argparse.Namespace) -> int:
    store = ProfileStore()
    profile = store.get(args.profile)
    creds = _user_credentials(args, profile.name)
    backup = obtain(args, "backup", required=False, ask=False)
    admin = _admin(args)
    bar = ProgressBar("Downloading backup")
    try:
        result = create_backup(
            DeviceClient(profile), creds, Path(args.out_dir),
            backup_passphrase=backup.secret if backup else None, admin=admin, progress=bar,
            journal=_journal(args),
        )  # fmt: skip
    finally:
        bar.close()
        _wipe(creds, backup, admin)
    for leftover in result.removed_partials:
        print(f"Removed {leftover.name}: an interrupted earlier download (never a backup).", file=sys.stderr)
    if args.json:
        print(json.dumps({"path": str(result.path), **result.manifest}, indent=2))
    else:
        print(result.path)
        how = "framing and contents" if result.checked == "contents" else "framing (give the backup "
        how += "" if result.checked == "contents" else "passphrase to check the contents too)"
        print(f"Checked: {how}. Manifest: {result.manifest_path}", file=sys.stderr)
    return 0


def _confirm(args: argparse.Namespace) -> None:
    if args.confirm is not None:
        if args.confirm != CONFIRM_WORD:
            raise InputError(f"--confirm takes the word '{CONFIRM_WORD}'", "Nothing was restored.")
        return
    if args.no_prompt or not stdin_is_terminal():
        raise InputError(
            "a partial restore needs a typed confirmation",
            f"Run at a terminal, or give --confirm {CONFIRM_WORD} after reading the summary.",
        )
    typed = ask(f"Type '{CONFIRM_WORD}' to go ahead (anything else stops): ").strip()
    if typed != CONFIRM_WORD:
        raise InputError("not confirmed", "Nothing was restored.")


def _restore(args: argparse.Namespace) -> int:
    store = ProfileStore()
    profile = store.get(args.profile)
    journal = _journal(args)
    backup = obtain(args, "backup", required=True)
    admin = _admin(args)
    unlock = None
    try:
        assert backup is not None  # required=True
        client = DeviceClient(profile)
        plan = plan_restore(client, args.file, backup.secret, admin)
        for line in plan.summary():
            print(line, file=sys.stderr)
        if plan.kind is RestoreKind.PARTIAL:
            _confirm(args)
        unlock = unlock_source(args, required=False)
        print("Restoring...", file=sys.stderr)
        client = run_restore(client, plan, backup.secret, admin, journal=journal)
        if client.profile.fingerprint != profile.fingerprint and client.profile.fingerprint:
            store.save(profile.with_fingerprint(client.profile.fingerprint))
            print(f"Profile {profile.name} now pins the backup's certificate {client.profile.fingerprint}.",
                  file=sys.stderr)  # fmt: skip
        print(f"Restored ({plan.kind.value}); the device is {client.state().value}.")
        if unlock is None:
            print("Next: unlock with the backup's unlock shares (console, or --unlock-share-file).",
                  file=sys.stderr)  # fmt: skip
            return 0
        unlock_restored(client, unlock, journal)
        print(f"Unlocked; the device is {client.state().value}.")
        if admin is None:
            print("Next: check the inventory (give --admin-passphrase-file or --admin-share-file).",
                  file=sys.stderr)  # fmt: skip
            return 0
        check = check_inventory(client, admin, plan, journal)
        print(f"Inventory: {check.describe()}.")
        if not check.ok:
            raise IntegrityError("the restored inventory differs from the backup's", check.describe())
    finally:
        _wipe(backup, admin, unlock if isinstance(unlock, Secret) else None)
    return 0


def _rehearse(args: argparse.Namespace) -> int:
    backup = obtain(args, "backup", required=True)
    admin = _admin(args)
    unlock = None
    try:
        assert backup is not None
        unlock = unlock_source(args, required=True)
        assert unlock is not None
        print(f"Rehearsing a restore of {args.file} into a throwaway emulator.")
        journal = _journal(args, default=False)
        result = rehearse(args.file, backup.secret, unlock, admin, say=print, journal=journal)
    finally:
        _wipe(backup, admin, unlock if isinstance(unlock, Secret) else None)
    if not result.ok:
        raise IntegrityError(
            "the rehearsal failed", "See the step that failed above; production was not touched."
        )
    if any(r.startswith("skipped") for _, r in result.steps):
        print("Rehearsal passed (inventory check skipped: give the admin passphrase or shares).")
    else:
        print("Rehearsal passed: restore, unlock and inventory all good.")
    return 0
