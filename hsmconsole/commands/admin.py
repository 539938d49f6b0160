"""`hsmconsole plan|apply|inventory`: the declarative administration file against a device."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from hsmconsole.commands.credentials import add_device_args, credentials, open_device
from hsmconsole.commands.inputs import ProgressBar, ask, stdin_is_terminal
from hsmconsole.errors import InputError, StateError

if TYPE_CHECKING:
    from hsmconsole.admin.apply import ApplyReport
    from hsmconsole.admin.plan import Plan
    from hsmconsole.backup.create import BackupResult
    from hsmconsole.device.client import Credentials, DeviceClient
    from hsmconsole.device.profiles import Profile
    from hsmconsole.journal.chain import Journal


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="show what applying an administration file would change")
    p.add_argument("file", help="administration file (TOML; see docs/administration.md)")
    add_device_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable plan on stdout")
    p.add_argument("--check", action="store_true", help="exit 1 when changes are pending, 0 when in sync")
    p.add_argument("--prune", action="store_true", help="plan deletions of what the file leaves out")
    p.set_defaults(handler=_plan)

    p = sub.add_parser("apply", help="make the device match an administration file")
    p.add_argument("file", help="administration file (TOML; see docs/administration.md)")
    add_device_args(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.add_argument("--prune", action="store_true", help="also delete what the file leaves out (shown first)")
    # A backup after every reconfiguration (Signstar's rule): made only when the apply succeeded.
    p.add_argument("--backup-to", metavar="DIR", help="after a successful apply, make a backup into DIR")
    p.add_argument("--backup-user", default="backup", metavar="ID", help="Backup-role user (default: backup)")
    p.add_argument(
        "--backup-user-passphrase-file", metavar="F",
        help="file holding the Backup user's passphrase (else the OS keyring, else a prompt)",
    )  # fmt: skip
    p.set_defaults(handler=_apply)

    p = sub.add_parser("inventory", help="print what the device holds (users, namespaces, keys)")
    add_device_args(p)
    p.add_argument(
        "--config", metavar="FILE",
        help="administration file whose namespace administrators' passphrases let namespaced keys be read",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(handler=_inventory)


def _setup(args: argparse.Namespace, config_file: str | None) -> Any:
    from hsmconsole.admin.config import load_config
    from hsmconsole.admin.passphrases import Passphrases
    from hsmconsole.admin.state import Actors

    # The file is checked completely before anything is sent (exit 2 with its line numbers).
    config = load_config(config_file) if config_file else None
    profile, client, journal = open_device(args)
    creds = credentials(args, client, journal)
    passphrases = Passphrases(profile.name)
    return config, profile, client, journal, Actors(creds, config, passphrases), passphrases


def print_plan(plan: Plan, out: Any = None) -> None:
    out = out or sys.stdout
    if plan.deletions:
        print(f"Deletions ({len(plan.deletions)}), made first:", file=out)
        for c in plan.deletions:
            print(f"  {c.describe()}", file=out)
    others = [c for c in plan.changes if not c.op.destructive]
    if others:
        print(f"Changes ({len(others)}):", file=out)
        for c in others:
            print(f"  {c.describe()}" + (f"   [line {c.line}]" if c.line else ""), file=out)
    for conflict in plan.conflicts:
        print(f"CONFLICT {conflict.target} [line {conflict.line}]: {conflict.reason}", file=out)
    for note in plan.notes:
        print(f"note: {note}", file=out)
    if plan.unmanaged:
        print(f"Not in the file ({len(plan.unmanaged)}; deleted only with --prune):", file=out)
        for text in plan.unmanaged:
            print(f"  {text}", file=out)
    if plan.empty:
        print("The device matches the file: nothing to change.", file=out)


def _plan(args: argparse.Namespace) -> int:
    from hsmconsole.admin.state import compute_plan

    config, _profile, client, _journal, actors, _pp = _setup(args, args.file)
    try:
        plan = compute_plan(client, config, actors, prune=args.prune)
    finally:
        actors.forget()  # namespace administrators' passphrases read for this run
        actors.root.passphrase.wipe()
    if args.json:
        json.dump(plan.as_json(), sys.stdout, indent=2)
        print()
    else:
        print_plan(plan)
    if plan.conflicts:
        return 1
    return 1 if args.check and not plan.empty else 0


def _confirm(plan: Plan) -> None:
    if not stdin_is_terminal():
        raise InputError(
            "apply asks for confirmation on a terminal", "In scripts, review `plan` and pass --yes."
        )
    if plan.deletions:
        word = f"delete {len(plan.deletions)}"
        answer = ask(f"{len(plan.deletions)} deletion(s) above cannot be undone. Type '{word}' to go on: ")
        if answer.strip() != word:
            raise InputError("not confirmed; nothing was changed")
        return
    answer = ask(f"Apply these {len(plan.changes)} change(s)? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise InputError("not confirmed; nothing was changed")


def report_json(plan: Plan, report: ApplyReport | None) -> dict[str, Any]:
    out: dict[str, Any] = {"plan": plan.as_json()}
    if report is not None:
        out["applied"] = [c.as_json() for c in report.applied]
        out["failed"] = report.failed.as_json() if report.failed else None
        out["error"] = str(report.error) if report.error else None
        out["not_applied"] = [c.as_json() for c in report.not_applied]
        out["interrupted"] = report.interrupted
    return out


def _apply(args: argparse.Namespace) -> int:
    from hsmconsole.admin.apply import apply_plan
    from hsmconsole.admin.state import compute_plan

    config, profile, client, journal, actors, passphrases = _setup(args, args.file)
    backup_creds = _backup_credentials(args, profile)  # before any change: a missing file is exit 2
    try:
        plan = compute_plan(client, config, actors, prune=args.prune)
        if not args.json:
            print_plan(plan, sys.stderr)
        if plan.conflicts:
            if args.json:
                json.dump(report_json(plan, None), sys.stdout, indent=2)
                print()
            raise StateError(
                f"{len(plan.conflicts)} conflict(s): nothing was changed",
                "Something on the device contradicts the file and is never replaced silently: "
                "change the file, or delete it on the device, and run again.",
            )
        if not plan.changes:
            if args.json:
                json.dump(report_json(plan, None), sys.stdout, indent=2)
                print()
            return 0
        if not args.yes:
            _confirm(plan)
        backup: BackupResult | None = None
        bar = ProgressBar(enabled=False if args.json else None, width=24, counts=True, keep=False)
        try:
            report = apply_plan(
                client, plan, actors, passphrases, journal=journal,
                progress=lambda index, total, change: bar(index, total, f"{change.describe()[2:][:38]:<38}"),
            )  # fmt: skip
        finally:
            bar.close()
        _remember_keyring_users(profile, report)
        if report.ok and not report.interrupted and backup_creds is not None:
            backup = _backup_after_apply(client, backup_creds, actors.root, args.backup_to, journal)
    finally:
        actors.forget()  # namespace administrators' passphrases read for this run
        actors.root.passphrase.wipe()
        if backup_creds is not None:
            backup_creds.passphrase.wipe()
    if args.json:
        out = report_json(plan, report)
        if backup is not None:
            out["backup"] = {"path": str(backup.path), "manifest": str(backup.manifest_path)}
        json.dump(out, sys.stdout, indent=2)
        print()
    _print_report(report)
    if report.interrupted:
        return 130
    return 0 if report.ok else 1


def _backup_credentials(args: argparse.Namespace, profile: Profile) -> Credentials | None:
    if not args.backup_to:
        return None
    from hsmconsole.commands.backup_input import backup_user_credentials

    return backup_user_credentials(
        profile.name, args.backup_user, args.backup_user_passphrase_file,
        prompt_ok=stdin_is_terminal() and not args.yes,
    )  # fmt: skip


def _backup_after_apply(
    client: DeviceClient, creds: Credentials, admin: Credentials, out_dir: str, journal: Journal | None
) -> BackupResult:
    """The backup `--backup-to` asks for. The apply already succeeded: a failure here says so."""
    from hsmconsole.backup.create import create_backup
    from hsmconsole.errors import HsmConsoleError

    try:
        # The administrator who applied lets the manifest list what the device holds now.
        result = create_backup(client, creds, out_dir, admin=admin, journal=journal)
    except HsmConsoleError as exc:
        raise HsmConsoleError(
            f"The apply succeeded, but the backup after it failed: {exc.title}",
            exc.hint or "Make the backup with `hsmconsole backup create` before anything else changes.",
            kind=exc.kind,
        ) from None
    print(f"Backup written: {result.path}", file=sys.stderr)
    return result


def _remember_keyring_users(profile: Profile, report: ApplyReport) -> None:
    """Users whose passphrase went to the keyring are remembered by the profile (names only), so
    that removing the profile forgets their passphrases, as the console does."""
    from hsmconsole.admin.model import PassphraseStore
    from hsmconsole.admin.plan import Op
    from hsmconsole.device.profiles import ProfileStore

    store = ProfileStore()
    for change in report.applied:
        user = change.user if change.op is Op.USER_CREATE else None
        if user is not None and user.passphrase.store is PassphraseStore.KEYRING:
            profile = store.remember_user(profile, user.user_id)


def _print_report(report: ApplyReport) -> None:
    err = sys.stderr
    print(f"Applied {len(report.applied)} change(s).", file=err)
    if report.failed is not None and report.error is not None:
        print(f"FAILED: {report.failed.describe()[2:]}", file=err)
        print(f"  {report.error.title}", file=err)
        if report.error.hint:
            print(f"  {report.error.hint}", file=err)
    if report.interrupted:
        print("Interrupted: the change under way may or may not have reached the device.", file=err)
    if report.not_applied:
        print(f"Not applied ({len(report.not_applied)}):", file=err)
        for c in report.not_applied:
            print(f"  {c.describe()}", file=err)
        print("Run apply again to continue: it plans afresh from what the device holds.", file=err)


def _inventory(args: argparse.Namespace) -> int:
    from hsmconsole.admin.state import read_inventory

    config, _profile, client, _journal, actors, _pp = _setup(args, args.config)
    try:
        inventory = read_inventory(client, actors, config)
    finally:
        actors.forget()  # namespace administrators' passphrases read for this run
        actors.root.passphrase.wipe()
    if args.json:
        json.dump(inventory, sys.stdout, indent=2)
        print()
        return 0
    print(f"Namespaces: {', '.join(inventory['namespaces']) or '(none)'}")
    print(f"Users ({len(inventory['users'])}):")
    for u in inventory["users"]:
        tags = f" tags={','.join(u['tags'])}" if u["tags"] else ""
        print(f"  {u['id']}\t{u['role']}\t{u['name']}{tags}")
    print(f"Keys ({len(inventory['keys'])}):")
    for k in inventory["keys"]:
        name = f"{k['namespace']}/{k['id']}" if k["namespace"] else k["id"]
        tags = f" tags={','.join(k['tags'])}" if k["tags"] else ""
        print(f"  {name}\t{k['type']}\t{','.join(k['mechanisms'])}{tags}")
    for ns in inventory["unread_namespaces"]:
        print(f"  ({ns}: keys not read; give --config with its administrator's passphrase source)")
    return 0
