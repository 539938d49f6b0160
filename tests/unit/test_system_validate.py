"""Local checks of system settings (addresses, netmasks, gateways, ports, levels, times, drift)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.device.system import NO_ADDRESS, LogLevel
from hsmconsole.errors import InputError
from hsmconsole.system import validate as v
from hsmconsole.system.actions import check_device_id, reconnect_host

octets = st.integers(0, 255)


@given(st.tuples(octets, octets, octets, octets))
def test_every_dotted_quad_is_an_ipv4_address(parts: tuple[int, int, int, int]) -> None:
    text = ".".join(map(str, parts))
    assert v.parse_ipv4(f" {text} ") == text


@given(st.text(max_size=20))
def test_parse_ipv4_accepts_exactly_what_ipaddress_does_in_dotted_form(text: str) -> None:
    try:
        expected = str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        expected = None
    if expected is None or not v._DOTTED.fullmatch(text.strip()):
        with pytest.raises(InputError):
            v.parse_ipv4(text)
    else:
        assert v.parse_ipv4(text) == expected


@pytest.mark.parametrize("bad", ["256.1.1.1", "1.2.3", "01.2.3.4", "a.b.c.d", "", "1.2.3.4.5", "::1"])
def test_not_ipv4(bad: str) -> None:
    with pytest.raises(InputError):
        v.parse_ipv4(bad)


@given(st.integers(0, 0xFFFFFFFF))
def test_a_netmask_is_accepted_exactly_when_its_bits_are_contiguous(bits: int) -> None:
    text = str(ipaddress.IPv4Address(bits))
    ones = bin(bits).count("1")
    contiguous = bits == (0xFFFFFFFF << (32 - ones)) & 0xFFFFFFFF
    if contiguous and ones > 0:
        assert v.parse_netmask(text) == text
        assert v.netmask_prefix(text) == ones
    else:
        with pytest.raises(InputError):
            v.parse_netmask(text)


@given(st.integers(1, 32), st.booleans())
def test_prefix_lengths_become_dotted_masks(prefix: int, slash: bool) -> None:
    mask = v.parse_netmask(f"/{prefix}" if slash else str(prefix))
    assert v.netmask_prefix(mask) == prefix


@pytest.mark.parametrize("bad", ["0", "/0", "33", "/40", "255.0.255.0", "255.255.255.1"])
def test_bad_netmasks(bad: str) -> None:
    with pytest.raises(InputError):
        v.parse_netmask(bad)


@given(st.integers(8, 30), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_network_settings_keep_the_gateway_inside_the_subnet(prefix: int, addr: int, gw: int) -> None:
    net = ipaddress.IPv4Network((addr, prefix), strict=False)
    host = ipaddress.IPv4Address(addr)
    gateway = ipaddress.IPv4Address(gw)
    try:
        got = v.network_settings(str(host), str(prefix), str(gateway))
    except InputError:
        special = host.is_unspecified or host.is_multicast or host.is_reserved
        edge = host in (net.network_address, net.broadcast_address)
        gw_bad = gateway not in net or gateway == host
        assert special or edge or (gw_bad and str(gateway) != NO_ADDRESS)
    else:
        assert ipaddress.IPv4Address(got.gateway) in net or got.gateway == NO_ADDRESS
        assert got.gateway != got.ip_address
        assert got.netmask == str(net.netmask)


def test_network_settings_examples() -> None:
    s = v.network_settings("192.0.2.10", "255.255.255.0", "192.0.2.1")
    assert (s.ip_address, s.netmask, s.gateway, s.ipv6) == ("192.0.2.10", "255.255.255.0", "192.0.2.1", None)
    assert v.network_settings("192.0.2.10", "24").gateway == NO_ADDRESS
    s6 = v.network_settings("192.0.2.10", "24", "", "2001:db8::10/64", "2001:db8::1")
    assert s6.ipv6 is not None and s6.ipv6.cidr == "2001:db8::10/64" and s6.ipv6.gateway == "2001:db8::1"
    for args in [("192.0.2.0", "24"), ("192.0.2.255", "24"), ("192.0.2.10", "24", "198.51.100.1"),
                 ("192.0.2.10", "24", "192.0.2.10"), ("0.0.0.0", "24"), ("240.0.0.1", "8"),
                 ("224.0.0.1", "24")]:
        with pytest.raises(InputError):
            v.network_settings(*args)
    with pytest.raises(InputError):
        v.network_settings("192.0.2.10", "24", "", "2001:db8::10")  # no prefix
    with pytest.raises(InputError):
        v.network_settings("192.0.2.10", "24", "", "", "2001:db8::1")  # gateway alone


@given(st.integers(-100_000, 100_000))
def test_ports(port: int) -> None:
    if 1 <= port <= 65535:
        assert v.parse_port(str(port)) == port
    else:
        with pytest.raises(InputError):
            v.parse_port(str(port))


@given(st.sampled_from(list(LogLevel)), st.booleans())
def test_log_levels_any_case(level: LogLevel, upper: bool) -> None:
    assert v.parse_log_level(level.value.upper() if upper else level.value) is level


def test_logging_settings() -> None:
    s = v.logging_settings("", "514", "info")
    assert (s.ip_address, s.port, s.level, s.remote) == (NO_ADDRESS, 514, LogLevel.INFO, False)
    assert v.logging_settings("2001:db8::5", 6514, "error").ip_address == "2001:db8::5"
    for args in [("syslog.example", 514, "info"), ("192.0.2.5", 0, "info"), ("192.0.2.5", 514, "loud"),
                 ("224.0.0.1", 514, "info")]:
        with pytest.raises(InputError):
            v.logging_settings(*args)


aware = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC))


@given(aware)
def test_times_round_trip_through_their_utc_text(when: datetime) -> None:
    whole = when.replace(microsecond=0)
    assert v.parse_utc_time(v.format_utc(whole)) == whole
    assert v.parse_utc_time(v.format_utc(whole).replace("T", " ").rstrip("Z")) == whole


@pytest.mark.parametrize(
    "bad", ["2026-12-06T18:30:00+01:00", "yesterday", "2026-02-30T00:00:00Z", "1970-01-01T00:00:00Z", ""]
)
def test_bad_times(bad: str) -> None:
    with pytest.raises(InputError):
        v.parse_utc_time(bad)


@given(aware, st.floats(-10 * 86400, 10 * 86400, allow_nan=False))
def test_drift_is_the_signed_difference_and_its_words_say_which_way(local: datetime, seconds: float) -> None:
    device = local + timedelta(seconds=seconds)
    drift = v.drift_seconds(device, local)
    assert drift == pytest.approx(seconds, abs=1e-5)
    text = v.describe_drift(drift)
    if abs(drift) <= v.IN_STEP:
        assert text == "in step with this computer"
    else:
        assert ("ahead" in text) == (drift > 0) and ("behind" in text) == (drift < 0)
        assert v.describe_drift(-drift).replace("behind", "ahead of") == text.replace("behind", "ahead of")


def test_drift_words() -> None:
    assert v.describe_drift(192) == "3 min 12 s ahead of this computer"
    assert v.describe_drift(-7500) == "2 h 5 min behind this computer"
    assert v.describe_drift(-7500, short=True) == "2 h 5 min behind"
    assert v.describe_drift(1.5, short=True) == "in step"


def test_reconnect_only_when_the_console_uses_the_old_address() -> None:
    assert reconnect_host("192.0.2.10", "192.0.2.10", "192.0.2.20") == "192.0.2.20"
    assert reconnect_host("192.0.2.10:8443", "192.0.2.10", "192.0.2.20") == "192.0.2.20:8443"
    assert reconnect_host("nethsm.example:443", "192.0.2.10", "192.0.2.20") is None
    assert reconnect_host("192.0.2.99", "192.0.2.10", "192.0.2.20") is None
    assert reconnect_host("192.0.2.10", "192.0.2.10", "192.0.2.10") is None


def test_device_id_must_be_typed_in_full() -> None:
    check_device_id(" ABC123XYZ0 ", "ABC123XYZ0")
    for typed in ("ABC123", "abc123xyz0", ""):
        with pytest.raises(InputError):
            check_device_id(typed, "ABC123XYZ0")
    with pytest.raises(InputError):
        check_device_id("", "")


def test_the_dashboard_offers_system_settings_only_with_an_admin_session() -> None:
    from hsmconsole.models import DeviceState, actions_for

    def system(state: DeviceState, session: bool) -> tuple[bool, str]:
        act = next(a for a in actions_for(state, admin_session=session) if a.id == "system")
        return act.enabled, act.reason

    assert system(DeviceState.OPERATIONAL, True) == (True, "")
    assert system(DeviceState.OPERATIONAL, False) == (False, "needs an admin session")
    assert system(DeviceState.LOCKED, False) == (False, "only on an Operational device")


@pytest.mark.parametrize(
    ("status", "message", "kind", "words"),
    [
        (409, "Update already in progress.", "state", "already waiting"),
        (409, "Software version downgrade not allowed.", "input", "downgrade"),
        (400, "Signature check of update image failed.", "integrity", "signature is not valid"),
        (400, "Invalid update file", "input", "not an update image the device can read"),
        (412, "", "state", "not Operational"),
        (403, "", "auth", "only an administrator"),
        (401, "", "auth", "wrong user name or passphrase"),
        (429, "", "auth", "too many failed attempts"),
        (500, "internal error", "device", "unexpected answer"),
    ],
)
def test_update_refusals_are_told_apart(status: int, message: str, kind: str, words: str) -> None:
    from hsmconsole.device.system import update_refusal

    err = update_refusal(status, message)
    assert err.kind.value == kind and words in err.title
