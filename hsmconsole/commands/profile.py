"""`hsmconsole profile add|list|remove`: connection profiles for scripts (the console's profiles file)."""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlsplit

from hsmconsole.commands.common import usage
from hsmconsole.errors import InputError


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = sub.add_parser(
        "profile",
        help="add, list and remove connection profiles",
        description="Connection profiles: a device's address and its pinned TLS certificate "
        "fingerprint (SHA-256), in the same file the console uses. Never a passphrase.",
    )
    profile.set_defaults(handler=lambda _args: usage(profile))
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION")

    p = psub.add_parser("add", help="add a profile with a pinned certificate fingerprint")
    p.add_argument("name", help="profile name (letters, digits, '.', '_', '-')")
    p.add_argument("--url", required=True, help="the device: https://HOST[:PORT] or HOST[:PORT]")
    pin = p.add_mutually_exclusive_group(required=True)
    pin.add_argument("--fingerprint", help="the SHA-256 fingerprint read from the device's own console")
    pin.add_argument(
        "--fetch-fingerprint", action="store_true",
        help="pin what the device presents now (printed: compare it with the device's console)",
    )  # fmt: skip
    p.add_argument("--replace", action="store_true", help="replace an existing profile of that name")
    p.set_defaults(handler=_add)

    p = psub.add_parser("list", help="list profiles")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(handler=_list)

    p = psub.add_parser("remove", help="remove a profile (and passphrases kept for its users)")
    p.add_argument("name")
    p.set_defaults(handler=_remove)


def host_of(url: str) -> str:
    """'https://nethsm.example:8443/api/v1' -> 'nethsm.example:8443'; a bare host:port as is."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https":
            raise InputError(f"{url} is not an https:// address", "A NetHSM is reached over HTTPS.")
        text = parts.netloc
    text = text.split("/", 1)[0]
    if not text or "@" in text:
        raise InputError(f"{url} is not a device address", "Give https://HOST[:PORT] or HOST[:PORT].")
    return text


def _add(args: argparse.Namespace) -> int:
    from hsmconsole.device.profiles import Profile, ProfileStore
    from hsmconsole.device.tls import fetch_certificate, fingerprint_of, normalize_fingerprint

    store = ProfileStore()
    host = host_of(args.url)
    Profile(args.name, host)  # check the name and address before contacting anything
    if args.name in store.load() and not args.replace:
        raise InputError(f"a profile named {args.name} exists", "Remove it first, or give --replace.")
    if args.fetch_fingerprint:
        fingerprint = fingerprint_of(fetch_certificate(host))
        print(
            f"Pinned the certificate {host} presented now:\n  SHA-256 {fingerprint}\n"
            "Compare it with the fingerprint on the device's own console (or its provisioning "
            "record) before trusting this profile; if they differ, remove the profile at once.",
            file=sys.stderr,
        )
    else:
        fingerprint = normalize_fingerprint(args.fingerprint)
    store.save(Profile(args.name, host, fingerprint=fingerprint))
    print(f"Saved profile {args.name}: {host}, fingerprint {fingerprint}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from hsmconsole.device.profiles import ProfileStore

    profiles = ProfileStore().load()
    if args.json:
        rows = [
            {"name": p.name, "host": p.host, "fingerprint": p.fingerprint, "insecure": p.insecure,
             "users": list(p.users)}
            for p in sorted(profiles.values(), key=lambda p: p.name)
        ]  # fmt: skip
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not profiles:
        print("No profiles yet: add one with `hsmconsole profile add NAME --url URL --fingerprint SHA256`.",
              file=sys.stderr)  # fmt: skip
        return 0
    for p in sorted(profiles.values(), key=lambda p: p.name):
        pin = p.fingerprint or ("INSECURE: not verified" if p.insecure else "not pinned yet")
        print(f"{p.name}\t{p.host}\t{pin}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from hsmconsole.commands.inputs import forget_keyring_passphrases
    from hsmconsole.device.profiles import ProfileStore

    store = ProfileStore()
    profile = store.get(args.name)
    store.delete(args.name)
    forget_keyring_passphrases(profile.name, profile.users)
    print(f"Removed profile {args.name}.", file=sys.stderr)
    return 0
