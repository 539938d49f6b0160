"""Shared pytest configuration: hypothesis profiles (CI runs more examples), provisioned device templates."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from hsmconsole.backup import format as backup_format
from hsmconsole.emulator import devcrypto
from tests.templates import DeviceTemplates

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


_device_scrypt = backup_format.scrypt


@functools.lru_cache(maxsize=512)
def _remembered_scrypt(passphrase: str, salt: bytes) -> bytes:
    return _device_scrypt(passphrase, salt)


@pytest.fixture(scope="session", autouse=True)
def remembered_scrypt() -> Iterator[None]:
    """The device's scrypt (N=16384, r=8, p=16: 0.4-0.7 s, seconds under load), computed once per
    (passphrase, salt) in each test process and remembered after: a test unlocking, verifying or
    restoring with a passphrase an earlier test already derived gets the same key without paying
    again. The function is the product's, parameters and output unchanged; every distinct input
    still runs it in full (about 4 in 10 calls in the suite were repeats). Tests that call
    `hashlib.scrypt` themselves, and emulators running in their own process, are not affected."""
    backup_format.scrypt = devcrypto.scrypt = _remembered_scrypt  # type: ignore[assignment]
    try:
        yield
    finally:
        backup_format.scrypt = devcrypto.scrypt = _device_scrypt  # type: ignore[assignment]


@pytest.fixture(scope="session")
def device_templates(tmp_path_factory: pytest.TempPathFactory) -> DeviceTemplates:
    """Provisioned state directories, made once per session and copied per test (tests/templates.py)."""
    return DeviceTemplates(tmp_path_factory.mktemp("device-templates"))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core (at most 16). A worker spends about a third of its time
    waiting (an emulator's reply, Textual's idle detection between key presses, the device's
    one-second rate limits): with one worker per core that time is lost, with two it is filled by
    the other worker's work. Measured in docs/development.md (Test suite timings)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(2, min(2 * cores, 16))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with `slow` tests run first, each kept whole (module fixtures are made once): with
    parallel workers the longest work then starts at once instead of ending a run on one worker
    while the other idles (longest first)."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.module not in slow_modules)
