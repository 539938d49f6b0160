"""Concurrent requests over real HTTPS: metadata changes are atomic, and a deleted key stays deleted."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import urllib3

from hsmconsole.emulator.server import EmbeddedEmulator
from tests.integration.conftest import ADMIN

WORKERS = 20
OPERATOR = ("operator", "operator-pass")


class Client:
    """Pinned HTTPS with a pool large enough for WORKERS parallel connections."""

    def __init__(self, emulator: EmbeddedEmulator) -> None:
        self._base = f"https://{emulator.host_port}/api/v1"
        self._pool = urllib3.PoolManager(
            cert_reqs="CERT_NONE",
            assert_fingerprint=emulator.fingerprint,
            retries=False,
            maxsize=WORKERS,
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
        )

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        auth: tuple[str, str] = ADMIN,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        content_type = "application/octet-stream" if raw is not None else "application/json"
        headers = {"Authorization": f"Basic {token}", "Content-Type": content_type}
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        response = self._pool.request(method, self._base + path, body=data, headers=headers)
        is_json = response.headers.get("Content-Type") == "application/json"
        payload = json.loads(response.data) if response.data and is_json else response.data
        return response.status, payload


def together(calls: list[Callable[[], tuple[int, Any]]]) -> list[int]:
    """Run every call at once (released by one barrier) and return their status codes in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], tuple[int, Any]]) -> int:
        barrier.wait()
        return call()[0]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def client(provisioned: EmbeddedEmulator) -> Client:
    http = Client(provisioned)
    user = {"realName": "Operator", "role": "Operator", "passphrase": OPERATOR[1]}
    assert http("PUT", "/users/operator", user)[0] == 201
    return http


def generate(http: Client, key_id: str) -> None:
    spec = {"type": "Curve25519", "mechanisms": ["EdDSA_Signature"], "id": key_id}
    assert http("POST", "/keys/generate", spec)[0] == 201


def test_concurrent_key_tags_are_all_kept(client: Client) -> None:
    generate(client, "k")
    tags = [f"t{i:02d}" for i in range(WORKERS)]
    codes = together([lambda t=t: client("PUT", f"/keys/k/restrictions/tags/{t}") for t in tags])
    assert codes == [204] * WORKERS
    status, key = client("GET", "/keys/k")
    assert status == 200
    assert key["restrictions"]["tags"] == tags


def test_concurrent_tag_removals_and_label_changes_are_all_applied(client: Client) -> None:
    generate(client, "k")
    tags = [f"t{i:02d}" for i in range(WORKERS)]
    for t in tags:
        assert client("PUT", f"/keys/k/restrictions/tags/{t}")[0] == 204
    calls: list[Callable[[], tuple[int, Any]]] = [
        lambda t=t: client("DELETE", f"/keys/k/restrictions/tags/{t}") for t in tags[::2]
    ]
    calls.append(lambda: client("PUT", "/keys/k/label", {"label": "renamed"}))
    calls.append(lambda: client("PUT", "/keys/k/cert", raw=b"a certificate"))
    codes = together(calls)
    assert codes == [204] * (WORKERS // 2) + [204, 201]
    key = client("GET", "/keys/k")[1]
    assert key["restrictions"]["tags"] == tags[1::2]
    assert key["label"] == "renamed"
    assert client("GET", "/keys/k/cert")[0] == 200


def test_concurrent_user_tags_are_all_kept(client: Client) -> None:
    tags = [f"u{i:02d}" for i in range(WORKERS)]
    codes = together([lambda t=t: client("PUT", f"/users/operator/tags/{t}") for t in tags])
    assert codes == [204] * WORKERS
    assert client("GET", "/users/operator/tags") == (200, tags)


def test_operation_counts_survive_concurrent_label_changes(client: Client) -> None:
    generate(client, "k")
    message = base64.b64encode(b"counted").decode()
    signs: list[Callable[[], tuple[int, Any]]] = [
        lambda: client("POST", "/keys/k/sign", {"mode": "EdDSA", "message": message}, auth=OPERATOR)
        for _ in range(WORKERS // 2)
    ]
    labels: list[Callable[[], tuple[int, Any]]] = [
        lambda i=i: client("PUT", "/keys/k/label", {"label": f"label-{i}"}) for i in range(WORKERS // 2)
    ]
    codes = together([c for pair in zip(signs, labels, strict=True) for c in pair])
    assert set(codes) == {200, 204}
    assert client("GET", "/keys/k")[1]["operations"] == WORKERS // 2


def test_a_deleted_key_is_never_written_back(client: Client) -> None:
    for round_ in range(8):
        key_id = f"k{round_}"
        generate(client, key_id)
        calls: list[Callable[[], tuple[int, Any]]] = [
            lambda k=key_id, i=i: client("PUT", f"/keys/{k}/restrictions/tags/t{i}") for i in range(6)
        ]
        calls.insert(3, lambda k=key_id: client("DELETE", f"/keys/{k}"))
        calls.append(lambda k=key_id: client("PUT", f"/keys/{k}/label", {"label": "late"}))
        calls.append(lambda k=key_id: client("POST", f"/keys/{k}/move", {"newId": f"{k}-moved"}))
        codes = together(calls)
        delete_code = codes[3]
        assert set(codes[:3] + codes[4:-2]) <= {204, 404}, codes
        assert codes[-2] in (204, 404) and codes[-1] in (200, 404), codes
        moved = codes[-1] == 200
        # Exactly one of the delete and the move found the key; whichever did, the old id is gone for good.
        assert (delete_code == 204) != moved, codes
        assert client("GET", f"/keys/{key_id}")[0] == 404
        listed = {entry["id"] for entry in client("GET", "/keys")[1]}
        assert key_id not in listed
        assert (f"{key_id}-moved" in listed) == moved
