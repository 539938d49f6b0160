"""`hsmconsole system …`: read and change the device's settings, update it, reboot, shut down, reset."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from hsmconsole.commands.common import usage
from hsmconsole.commands.connect_args import add_device_options, credentials, output_path, target
from hsmconsole.commands.inputs import ProgressBar, ask, confirm, interactive, typed_confirmation
from hsmconsole.device import system as dev
from hsmconsole.errors import InputError
from hsmconsole.system import actions
from hsmconsole.system import validate as v


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    system = sub.add_parser(
        "system", help="device settings and maintenance (network, time, logging, update, reset)",
        description="Read and change the NetHSM's own settings. Values are checked here before "
        "anything is sent; every change is journaled. Passphrases only from files or prompts.",
    )  # fmt: skip
    system.set_defaults(handler=lambda _args: usage(system))
    s = system.add_subparsers(dest="system_command", metavar="ACTION")

    def add(name: str, help_: str, handler: Any, *, json_out: bool = True) -> argparse.ArgumentParser:
        p = s.add_parser(name, help=help_)
        add_device_options(p)
        if json_out:
            p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        p.set_defaults(handler=handler)
        return p

    add("info", "system info, state, clock drift and every setting", _info)
    p = add("time", "show the device clock; --set-now or --set T changes it", _time)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--set-now", action="store_true", help="set it from this computer's clock (UTC)")
    g.add_argument("--set", metavar="TIME", help="set it to this UTC time, e.g. 2026-12-06T18:30:00Z")
    p = add("network", "show the network settings; with flags, change them", _network)
    p.add_argument("--ip-address", help="IPv4 address of the device")
    p.add_argument("--netmask", help="netmask, dotted (255.255.255.0) or prefix length (24)")
    p.add_argument("--gateway", help="IPv4 gateway inside the subnet, or 'none'")
    p.add_argument("--ipv6", metavar="CIDR", help="IPv6 address/prefix, or 'none' to switch IPv6 off")
    p.add_argument("--ipv6-gateway", help="IPv6 gateway")
    p.add_argument("--yes", action="store_true", help="do not ask before changing")
    p.add_argument("--update-profile", action="store_true",
                   help="if the profile used the old address, point it at the new one")  # fmt: skip
    p = add("logging", "show the syslog settings; with flags, change them", _logging)
    p.add_argument("--ip-address", help="syslog server (IPv4 or IPv6), 0.0.0.0 for none")
    p.add_argument("--port", help="syslog port (1-65535)")
    p.add_argument("--level", help="debug, info, warning or error")
    p = add("boot-mode", "show unattended boot; --unattended on|off changes it", _boot_mode)
    p.add_argument("--unattended", choices=["on", "off"], help="start Operational without unlock")
    p.add_argument("--yes", action="store_true", help="do not ask before switching it on")
    p = add("tls", "show the TLS certificate; --csr FILE saves a signing request", _tls)
    p.add_argument("--csr", metavar="FILE", help="write a CSR for the device's TLS key to FILE")
    p.add_argument("--cn", help="common name for the CSR (required with --csr)")
    p.add_argument("--org", default="", help="organization for the CSR")
    p.add_argument("--san", action="append", help="subject alternative name (DNS:x or IP:a), repeatable")
    p = add("update", "upload an update image, show its notes, commit or cancel it", _update, json_out=False)
    p.add_argument("file", nargs="?", help="the update image (omit with --commit/--cancel of a pending one)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--commit", action="store_true", help="install it (the device reboots)")
    g.add_argument("--cancel", action="store_true", help="drop it")
    for name, help_ in (("reboot", "restart the device (it comes back Locked unless unattended boot)"),
                        ("shutdown", "power the device off")):  # fmt: skip
        p = add(name, help_, _power, json_out=False)
        p.add_argument("--yes", action="store_true", help="do not ask")
    p = add("factory-reset", "erase every key, user and setting", _factory_reset, json_out=False)
    p.add_argument("--confirm-device-id", metavar="ID", help="the device id, in full (for scripts)")
    p = s.add_parser("metrics", help="device metrics (needs a user with the Metrics role)")
    add_device_options(p, default_user="metrics")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(handler=_metrics)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(x) for x in value]
    return value


def _emit(data: dict[str, Any], lines: list[tuple[str, str]], as_json: bool) -> int:
    if as_json:
        print(json.dumps(_plain(data), indent=2, sort_keys=True))
    else:
        width = max(len(k) for k, _ in lines)
        for key, value in lines:
            print(f"{key:<{width}}  {value}")
    return 0


def _network_lines(n: dev.NetworkSettings) -> list[tuple[str, str]]:
    v6 = f"{n.ipv6.cidr} gateway {n.ipv6.gateway or 'none'}" if n.ipv6 else "off"
    gw = "none" if n.gateway == dev.NO_ADDRESS else n.gateway
    return [("IPv4 address", n.ip_address), ("Netmask", n.netmask), ("Gateway", gw), ("IPv6", v6)]


def _logging_lines(lg: dev.LoggingSettings) -> list[tuple[str, str]]:
    where = f"{lg.ip_address} port {lg.port}" if lg.remote else "no remote syslog"
    return [("Syslog", where), ("Log level", lg.level.value)]


def _tls_lines(t: dev.TlsCertificate) -> list[tuple[str, str]]:
    pin = {True: "yes", False: "NO: not the pinned certificate", None: "nothing pinned"}[t.matches_pin]
    return [
        ("TLS subject", t.subject), ("Valid from", v.format_utc(t.not_before)),
        ("Valid until", v.format_utc(t.not_after)), ("SHA-256", t.fingerprint), ("Matches pin", pin),
    ]


def _info(args: argparse.Namespace) -> int:
    t = target(args)
    ov = actions.read_overview(t.client, credentials(args, t.profile))
    drift = v.drift_seconds(ov.device_time, ov.local_time)
    i = ov.info
    lines = [
        ("Device", f"{i.vendor} {i.product}"), ("Device id", i.device_id or "-"), ("State", ov.state.value),
        ("Software", f"{i.software_version} ({i.software_build})"), ("Firmware", i.firmware_version),
        ("Hardware", i.hardware_version), ("Device time", v.format_utc(ov.device_time)),
        ("Local time", v.format_utc(ov.local_time)), ("Clock", v.describe_drift(drift)),
        *_network_lines(ov.network), *_logging_lines(ov.logging),
        ("Unattended boot", "ON" if ov.unattended_boot else "off"), *_tls_lines(ov.tls),
    ]
    data = asdict(ov)
    data["tls"].pop("pem")
    data["drift_seconds"] = drift
    return _emit(data, lines, args.json)


def _time(args: argparse.Namespace) -> int:
    when = v.parse_utc_time(args.set) if args.set else None  # checked before anything is sent
    t = target(args)
    admin = credentials(args, t.profile)
    if args.set or args.set_now:
        set_to = actions.change_time(t.client, admin, when, t.journal)
        print(f"Device clock set to {v.format_utc(set_to)}.", file=sys.stderr)
    device = dev.read_time(t.client, admin)
    local = datetime.now(device.tzinfo)
    drift = v.drift_seconds(device, local)
    lines = [("Device time", v.format_utc(device)), ("Local time", v.format_utc(local)),
             ("Clock", v.describe_drift(drift))]  # fmt: skip
    return _emit({"device_time": device, "local_time": local, "drift_seconds": drift}, lines, args.json)


def _network(args: argparse.Namespace) -> int:
    given = [args.ip_address, args.netmask, args.gateway, args.ipv6, args.ipv6_gateway]
    changing = any(x is not None for x in given)
    # Each given value is checked alone before connecting; the whole after merging with the rest.
    if args.ip_address is not None:
        v.parse_ipv4(args.ip_address, "address")
    if args.netmask is not None:
        v.parse_netmask(args.netmask)
    if args.gateway not in (None, "", "none", dev.NO_ADDRESS):
        v.parse_ipv4(args.gateway, "gateway")
    if args.ipv6 not in (None, "none"):
        v.parse_ipv6(args.ipv6, args.ipv6_gateway or "")
    t = target(args)
    admin = credentials(args, t.profile)
    current = dev.read_network(t.client, admin)
    if not changing:
        return _emit(asdict(current), _network_lines(current), args.json)
    cur6 = current.ipv6
    ipv6 = args.ipv6 if args.ipv6 is not None else (cur6.cidr if cur6 else "")
    ipv6_gw = args.ipv6_gateway if args.ipv6_gateway is not None else (
        (cur6.gateway or "") if cur6 and args.ipv6 is None else "")
    new = v.network_settings(
        args.ip_address or current.ip_address, args.netmask or current.netmask,
        args.gateway if args.gateway is not None else current.gateway,
        "" if ipv6 == "none" else ipv6, ipv6_gw,
    )
    if new == current:
        print("Nothing to change: the device has these settings already.", file=sys.stderr)
        return _emit(asdict(current), _network_lines(current), args.json)
    summary = ", ".join(f"{k} {val}" for k, val in _network_lines(new))
    confirm(f"Change the device's network settings to: {summary}?", yes=args.yes)
    change = actions.change_network(t.client, admin, new, t.journal)
    print("Network settings changed.", file=sys.stderr)
    if change.reconnect_to:
        print(f"The profile '{t.profile.name}' reached the device at {t.profile.host}; it now answers "
              f"at {change.reconnect_to}.", file=sys.stderr)  # fmt: skip
        if args.update_profile or (interactive() and ask("Update the profile? [y/N] ").strip().lower()
                                   in ("y", "yes")):  # fmt: skip
            t.store.save(actions.moved_profile(t.profile, change.reconnect_to))
            print(f"Profile '{t.profile.name}' now points at {change.reconnect_to}.", file=sys.stderr)
        else:
            print("The profile was left as it was; use --update-profile to change it.", file=sys.stderr)
    return _emit(asdict(new), _network_lines(new), args.json)


def _logging(args: argparse.Namespace) -> int:
    changing = any(x is not None for x in (args.ip_address, args.port, args.level))
    if args.port is not None:
        v.parse_port(args.port)
    if args.level is not None:
        v.parse_log_level(args.level)
    if args.ip_address is not None:
        v.logging_settings(args.ip_address, 514, "info")
    t = target(args)
    admin = credentials(args, t.profile)
    current = dev.read_logging(t.client, admin)
    if changing:
        new = v.logging_settings(
            args.ip_address if args.ip_address is not None else current.ip_address,
            args.port if args.port is not None else current.port,
            args.level if args.level is not None else current.level.value,
        )
        actions.change_logging(t.client, admin, new, t.journal)
        print("Logging settings changed.", file=sys.stderr)
        current = new
    return _emit(asdict(current), _logging_lines(current), args.json)


def _boot_mode(args: argparse.Namespace) -> int:
    t = target(args)
    admin = credentials(args, t.profile)
    if args.unattended is not None:
        on = args.unattended == "on"
        if on:
            confirm(actions.UNATTENDED_WARNING, yes=args.yes)
        actions.change_unattended_boot(t.client, admin, on, t.journal)
    on = dev.read_unattended_boot(t.client, admin)
    lines = [("Unattended boot", "ON: the device starts Operational without the unlock passphrase"
              if on else "off: after a start the device waits Locked for its unlock passphrase")]  # fmt: skip
    return _emit({"unattended_boot": on}, lines, args.json)


def _tls(args: argparse.Namespace) -> int:
    path = None
    if args.csr is not None:
        if not args.cn:
            raise InputError("A CSR needs a common name.", "Add --cn NAME (the name clients use).")
        path = output_path(args.csr)
    t = target(args)
    admin = credentials(args, t.profile)
    cert = dev.read_tls_certificate(t.client, admin)
    if path is not None:
        dn = dev.DistinguishedName(args.cn, organization=args.org,
                                   subject_alt_names=tuple(args.san) if args.san else None)  # fmt: skip
        actions.save_csr(t.client, admin, dn, path, t.journal)
        print(f"CSR for the device's TLS key written to {path}.", file=sys.stderr)
    data = asdict(cert)
    return _emit(data, _tls_lines(cert), args.json)


def _update(args: argparse.Namespace) -> int:
    image = actions.read_update_file(Path(args.file)) if args.file else None
    if image is None and not (args.commit or args.cancel):
        raise InputError("Give an update image, or --commit / --cancel for the one waiting.")
    if image is not None and not (args.commit or args.cancel) and not interactive():
        raise InputError("Say what to do after the upload.", "Add --commit or --cancel (not a terminal).")
    t = target(args)
    admin = credentials(args, t.profile)
    commit = args.commit
    if image is not None:
        notes = actions.upload_update(t.client, admin, image, ProgressBar("Uploading"), t.journal)
        print("The device accepted the image. Release notes:", file=sys.stderr)
        print(notes)
        if not (args.commit or args.cancel):
            answer = ask("Install it now (the device reboots)? [commit/cancel] ").strip().lower()
            commit = answer == "commit"
    if commit:
        actions.commit_update(t.client, admin, t.journal)
        print("Update committed: the device is rebooting into it (it comes back Locked unless "
              "unattended boot is on).", file=sys.stderr)  # fmt: skip
    else:
        actions.cancel_update(t.client, admin, t.journal)
        print("Update cancelled; the device keeps its current software.", file=sys.stderr)
    return 0


def _power(args: argparse.Namespace) -> int:
    reboot = args.system_command == "reboot"
    t = target(args)
    admin = credentials(args, t.profile)
    what = "Reboot the device? It comes back Locked" if reboot else "Power the device off? It stays off"
    confirm(f"{what} (profile '{t.profile.name}', {t.profile.host}).", yes=args.yes)
    (actions.reboot if reboot else actions.shutdown)(t.client, admin, t.journal)
    print("Rebooting." if reboot else "The device is shutting down.", file=sys.stderr)
    return 0


def _factory_reset(args: argparse.Namespace) -> int:
    if args.confirm_device_id is None and not interactive():
        raise InputError("A factory reset needs the device id.", "Add --confirm-device-id ID (in full).")
    t = target(args)
    admin = credentials(args, t.profile)
    typed = args.confirm_device_id
    if typed is None:
        info = dev.read_system_info(t.client, admin)
        print(actions.FACTORY_RESET_WARNING, file=sys.stderr)
        print("Make a backup first if you may need these keys again (hsmconsole has a backup "
              "command; the device needs a backup passphrase for it).", file=sys.stderr)  # fmt: skip
        typed = typed_confirmation(f"To erase device {info.device_id}, type its device id in full:")
    actions.factory_reset(t.client, admin, typed, t.journal)
    print("Factory reset done: the device restarts Unprovisioned with a NEW TLS certificate; "
          f"profile '{t.profile.name}' must be set up again.", file=sys.stderr)  # fmt: skip
    return 0


def _metrics(args: argparse.Namespace) -> int:
    t = target(args)
    metrics = dev.read_metrics(t.client, credentials(args, t.profile))
    return _emit({m.name: m.value for m in metrics}, [(m.name, m.value) for m in metrics], args.json)
