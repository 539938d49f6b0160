"""Integration fixtures: a fresh emulated NetHSM over real HTTPS, SDK clients pinned to it, raw HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nethsm
import pytest
import urllib3

from hsmconsole.device.tls import pin_sdk, pinned_tls_context
from hsmconsole.emulator.server import EmbeddedEmulator
from tests.templates import DeviceTemplates, Provisioning

# The shared helpers assert too: give their failures pytest's detailed messages.
pytest.register_assert_rewrite("tests.integration.helpers")

UNLOCK_PASSPHRASE = "unlockunlock"
ADMIN_USER = "admin"
ADMIN_PASSPHRASE = "adminadmin"
PROVISION_TIME = "2025-01-01T00:00:00Z"

SdkFactory = Callable[..., nethsm.NetHSM]


@dataclass
class Reply:
    """A raw HTTP answer, decoded just enough for assertions."""

    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient:
    """HTTPS requests to the emulator with the certificate pinned, and nothing the SDK would add
    or hide: the tests see exact status codes, headers and bodies."""

    def __init__(self, emulator: EmbeddedEmulator) -> None:
        self.emulator = emulator
        self._pool = self._new_pool()

    def _new_pool(self) -> urllib3.PoolManager:
        return urllib3.PoolManager(
            cert_reqs="CERT_NONE",
            ssl_context=pinned_tls_context(),  # as the console's pools: no CA store per connection
            assert_fingerprint=self.emulator.fingerprint,
            retries=False,
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
        )

    def repin(self) -> None:
        """Trust the certificate the emulator serves now (after a TLS change)."""
        self._pool.clear()
        self._pool = self._new_pool()

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: tuple[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """`path` is relative to /api/v1 unless it starts with '//' (then taken from the root)."""
        url_path = path[1:] if path.startswith("//") else f"/api/v1{path}"
        hdrs = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            hdrs["Authorization"] = f"Basic {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        response = self._pool.request(
            method,
            f"https://{self.emulator.host_port}{url_path}",
            body=body,
            headers=hdrs,
            redirect=False,
        )
        return Reply(response.status, response.headers, response.data)

    def close(self) -> None:
        self._pool.clear()


# What `provisioned` hands out, provisioned once per session (tests/templates.py).
PROVISIONED = Provisioning(
    UNLOCK_PASSPHRASE, ADMIN_PASSPHRASE, operational=True, system_time=datetime(2025, 1, 1, tzinfo=UTC)
)


@pytest.fixture
def emulator(
    request: pytest.FixtureRequest, device_templates: DeviceTemplates, tmp_path: Path
) -> Iterator[EmbeddedEmulator]:
    """A fresh, unprovisioned, in-memory emulated NetHSM on a free loopback port; for a test that
    asks for `provisioned`, booted from a copy of a provisioned template instead (no scrypt)."""
    if "provisioned" in request.fixturenames:
        emu = device_templates.start(PROVISIONED, tmp_path / "device")
    else:
        emu = EmbeddedEmulator()
        emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def sdk_factory(emulator: EmbeddedEmulator) -> Iterator[SdkFactory]:
    """make(user=None, passphrase=None) → a nethsm.NetHSM pinned to the emulator's certificate."""
    clients: list[nethsm.NetHSM] = []

    def make(user: str | None = None, passphrase: str | None = None) -> nethsm.NetHSM:
        auth = nethsm.Authentication(user, passphrase or "") if user is not None else None
        client = nethsm.NetHSM(emulator.host_port, auth=auth)
        pin_sdk(client, emulator.fingerprint)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def provisioned(emulator: EmbeddedEmulator) -> EmbeddedEmulator:
    """The emulator, provisioned (unlock "unlockunlock", admin "adminadmin", its clock set to
    2025-01-01 when the session's template was made), Operational."""
    assert emulator.hsm.state.value == "Operational"
    return emulator


@pytest.fixture
def raw(emulator: EmbeddedEmulator) -> Iterator[RawClient]:
    """Raw HTTPS to the emulator (pinned), for conventions the SDK hides."""
    client = RawClient(emulator)
    yield client
    client.close()


ADMIN = (ADMIN_USER, ADMIN_PASSPHRASE)
