"""Local checks of system settings before anything is sent: addresses, masks, ports, levels, times."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta

from hsmconsole.device.system import (
    NO_ADDRESS,
    Ipv6Settings,
    LoggingSettings,
    LogLevel,
    NetworkSettings,
)
from hsmconsole.errors import InputError

_DOTTED = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
_PREFIX = re.compile(r"/?([0-9]{1,2})")
_UTC_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_ipv4(text: str, what: str = "address") -> str:
    """A dotted-quad IPv4 address in canonical form, or InputError naming `what`."""
    value = text.strip()
    if not _DOTTED.fullmatch(value):
        raise InputError(
            f"'{value}' is not an IPv4 {what}.", "Write it as four numbers 0-255 with dots, e.g. 192.0.2.10."
        )
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise InputError(
            f"'{value}' is not an IPv4 {what}: each of the four numbers must be 0-255, without "
            "leading zeros.",
            "For example 192.0.2.10.",
        ) from None


def netmask_prefix(mask: str) -> int | None:
    """The prefix length of a dotted netmask, or None when its one-bits are not contiguous."""
    bits = int(ipaddress.IPv4Address(mask))
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None
    return 32 - inverted.bit_length()


def parse_netmask(text: str) -> str:
    """A contiguous netmask, given dotted (255.255.255.0) or as a prefix length (24 or /24)."""
    value = text.strip()
    prefix_match = _PREFIX.fullmatch(value)
    if prefix_match:
        prefix = int(prefix_match.group(1))
        if not 1 <= prefix <= 32:
            raise InputError(f"/{prefix} is not a usable prefix length.", "Give 1 to 32, e.g. 24.")
        return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
    mask = parse_ipv4(value, "netmask")
    prefix_len = netmask_prefix(mask)
    if prefix_len is None:
        raise InputError(
            f"'{mask}' is not a netmask: its one-bits are not contiguous.",
            "A netmask is ones followed by zeros, e.g. 255.255.255.0 (/24) or 255.255.240.0 (/20).",
        )
    if prefix_len == 0:
        raise InputError("0.0.0.0 is not a usable netmask.", "Give the subnet's mask, e.g. 255.255.255.0.")
    return mask


def network_settings(
    ip_address: str,
    netmask: str,
    gateway: str = "",
    ipv6_cidr: str = "",
    ipv6_gateway: str = "",
) -> NetworkSettings:
    """Checked network settings: a host address of its subnet, a gateway inside it (or none)."""
    address = parse_ipv4(ip_address, "address")
    mask = parse_netmask(netmask)
    iface = ipaddress.IPv4Interface(f"{address}/{mask}")
    host = iface.ip
    # Loopback stays allowed: an emulator lives there, and a real device refuses it itself.
    if host.is_unspecified or host.is_multicast or host.is_reserved:
        raise InputError(
            f"{address} cannot be the device's address (it is a special address).",
            "Give an ordinary unicast address, e.g. 192.0.2.10.",
        )
    net = iface.network
    if net.prefixlen <= 30 and host in (net.network_address, net.broadcast_address):
        which = "network" if host == net.network_address else "broadcast"
        raise InputError(
            f"{address} is the {which} address of {net}, not a host address.",
            f"Choose an address between {net.network_address + 1} and {net.broadcast_address - 1}.",
        )
    gw = gateway.strip()
    if gw in ("", NO_ADDRESS, "none", "-"):
        gw = NO_ADDRESS
    else:
        gw = parse_ipv4(gw, "gateway")
        gw_addr = ipaddress.IPv4Address(gw)
        if gw_addr not in net:
            raise InputError(
                f"The gateway {gw} is outside the device's subnet {net}.",
                "The gateway must be reachable directly: give one inside the subnet, or none.",
            )
        if gw_addr == host:
            raise InputError(f"The gateway {gw} is the device's own address.", "Give the router's address.")
    return NetworkSettings(address, mask, gw, parse_ipv6(ipv6_cidr, ipv6_gateway))


def parse_ipv6(cidr: str, gateway: str = "") -> Ipv6Settings | None:
    """IPv6 address/prefix and optional gateway; None when no address is given (IPv6 off)."""
    text, gw = cidr.strip(), gateway.strip()
    if not text:
        if gw:
            raise InputError("An IPv6 gateway needs an IPv6 address.", "Give both, or neither.")
        return None
    if "/" not in text:
        raise InputError(f"'{text}' has no prefix length.", "Write address/prefix, e.g. 2001:db8::10/64.")
    try:
        iface = ipaddress.IPv6Interface(text)
    except ValueError:
        raise InputError(f"'{text}' is not an IPv6 address with prefix.", "E.g. 2001:db8::10/64.") from None
    gateway_out: str | None = None
    if gw:
        try:
            gateway_out = str(ipaddress.IPv6Address(gw))
        except ValueError:
            raise InputError(f"'{gw}' is not an IPv6 gateway address.", "E.g. 2001:db8::1.") from None
    return Ipv6Settings(str(iface), gateway_out)


def parse_port(text: str | int) -> int:
    value = str(text).strip()
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise InputError(
            f"'{value}' is not a port number.", "Give a number from 1 to 65535 (syslog uses 514)."
        )
    return int(value)


def parse_log_level(text: str) -> LogLevel:
    value = text.strip().lower()
    for level in LogLevel:
        if level.value == value:
            return level
    names = ", ".join(level.value for level in LogLevel)
    raise InputError(f"'{text.strip()}' is not a log level.", f"Choose one of: {names}.")


def logging_settings(ip_address: str, port: str | int, level: str) -> LoggingSettings:
    """Checked syslog settings; an empty or 0.0.0.0 address means no remote syslog."""
    text = ip_address.strip()
    if text in ("", NO_ADDRESS, "none", "-"):
        address = NO_ADDRESS
    else:
        try:
            parsed = ipaddress.ip_address(text)
        except ValueError:
            raise InputError(
                f"'{text}' is not an IP address for the syslog server.",
                "Give an IPv4 or IPv6 address (the device takes no host names), or 0.0.0.0 for none.",
            ) from None
        if parsed.is_multicast or (parsed.version == 4 and text != str(parsed)):
            raise InputError(f"'{text}' cannot be a syslog server address.", "Give a unicast address.")
        address = str(parsed)
    return LoggingSettings(address, parse_port(port), parse_log_level(level))


def parse_utc_time(text: str) -> datetime:
    """A time typed in UTC: 2026-12-06T18:30:00Z, '2026-12-06 18:30' or with +00:00. Other offsets
    are refused rather than converted: the device wants UTC, and a typed offset is often a slip."""
    value = text.strip()
    m = _UTC_TIME.fullmatch(value)
    if not m:
        raise InputError(
            f"'{value}' is not a date and time.",
            "Write it in UTC as YYYY-MM-DDTHH:MM:SSZ, e.g. 2026-12-06T18:30:00Z.",
        )
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    zone = (m.group(8) or "Z").upper().replace(":", "")
    if zone not in ("Z", "+0000", "-0000"):
        raise InputError(
            f"'{value}' is not in UTC (offset {m.group(8)}).", "Convert it to UTC and end it with Z."
        )
    try:
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"'{value}' is not a real date or time ({exc}).", "Check the numbers.") from None
    if not 2000 <= year <= 2099:
        raise InputError(f"{year} is not a plausible year for the device clock.", "Check the year.")
    return when


def format_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def drift_seconds(device: datetime, local: datetime) -> float:
    """How far the device clock is ahead of the local one (negative: behind)."""
    return (device - local) / timedelta(seconds=1)


IN_STEP = 3.0  # seconds: the device reports and takes whole seconds, and reading it takes a moment
WORRYING = 300.0  # seconds: beyond this, certificates and logs start to mislead


def describe_drift(seconds: float, *, short: bool = False) -> str:
    """'in step with this computer', or '3 min 12 s ahead of this computer' / '2 h 5 min behind
    this computer' (the two largest units); `short` leaves out "this computer"."""
    if abs(seconds) <= IN_STEP:
        return "in step" if short else "in step with this computer"
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if n]
    if short:
        return f"{' '.join(parts[:2])} {'ahead' if seconds > 0 else 'behind'}"
    way = "ahead of" if seconds > 0 else "behind"
    return f"{' '.join(parts[:2])} {way} this computer"
