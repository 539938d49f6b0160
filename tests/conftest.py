"""Shared pytest configuration: hypothesis profiles (CI runs more examples), provisioned device templates."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.templates import DeviceTemplates

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def device_templates(tmp_path_factory: pytest.TempPathFactory) -> DeviceTemplates:
    """Provisioned state directories, made once per session and copied per test (tests/templates.py)."""
    return DeviceTemplates(tmp_path_factory.mktemp("device-templates"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with `slow` tests run first, each kept whole (module fixtures are made once): with
    parallel workers the longest work then starts at once instead of ending a run on one worker
    while the other idles (longest first)."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.module not in slow_modules)
