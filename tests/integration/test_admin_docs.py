"""docs/administration.md: its first toml block applies as written, from anywhere, to a new device."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from hsmconsole.cli import main
from hsmconsole.device import keys as device_keys
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret

from .conftest import ADMIN_PASSPHRASE

DOC = Path(__file__).resolve().parents[2] / "docs" / "administration.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)


@pytest.mark.slow
def test_worked_example_applies_as_written(
    provisioned: EmbeddedEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "service").mkdir()
    conf = tmp_path / "service" / "signing.toml"
    conf.write_text(blocks("toml")[0])
    (tmp_path / "admin.pass").write_text(ADMIN_PASSPHRASE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert (
        main(
            [
                "profile",
                "add",
                "signing",
                "--url",
                provisioned.host_port,
                "--fingerprint",
                provisioned.fingerprint,
            ]
        )
        == 0
    )
    dev = ["--profile", "signing", "--passphrase-file", str(tmp_path / "admin.pass")]
    assert main(["apply", str(conf), *dev, "--yes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] is None and len(report["applied"]) == 16
    assert main(["plan", str(conf), *dev, "--check"]) == 0
    assert sorted(p.name for p in (tmp_path / "service" / "secrets").iterdir()) == [
        "images-admin.pass",
        "images-signer.pass",
        "repo-admin.pass",
        "repo-signer.pass",
    ]
    assert not list(elsewhere.iterdir())
    # The images operator signs with its namespace's keys, as the PKCS#11 module would log in.
    client = DeviceClient(Profile("t", provisioned.host_port, fingerprint=provisioned.fingerprint))
    signer = Credentials(
        "images~signer", Secret((tmp_path / "service" / "secrets" / "images-signer.pass").read_bytes())
    )
    assert device_keys.list_key_ids(client, signer, usable_only=True) == [
        "secureboot-rsa3072",
        "verity-ed25519",
    ]
    (key,) = device_keys.get_keys(client, signer, ["secureboot-rsa3072"])
    assert key.bits == 3072 and key.tags == ("images",)


def test_pkcs11_snippet_names_the_operator_address_and_fingerprint() -> None:
    (snippet,) = blocks("yaml")
    slot = yaml.safe_load(snippet)["slots"][0]
    assert slot["operator"]["username"] == "images~signer" and "password" not in slot["operator"]
    instance = slot["instances"][0]
    assert instance["url"].startswith("https://") and instance["url"].endswith("/api/v1")
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", instance["sha256_fingerprints"][0])
