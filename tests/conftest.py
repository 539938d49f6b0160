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
