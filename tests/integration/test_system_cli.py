"""`hsmconsole system …` against the emulator: reads, setters, update, reset; bad values never sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hsmconsole.cli import main
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile, ProfileStore, default_config_dir, default_data_dir
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.sysupdate import build_update
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState, UserRole
from hsmconsole.secrets import Secret

VENDOR = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Setup:
    emu: EmbeddedEmulator
    client: DeviceClient
    passfile: Path
    args: list[str]  # --profile ... --passphrase-file ...

    def journal_actions(self) -> list[tuple[str, str]]:
        journal = Journal(default_data_dir() / "journal.jsonl")
        return [(e.event.action, e.event.outcome.value) for e in journal.entries()]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with EmbeddedEmulator(update_key=VENDOR.public_key()) as emu:
        profile = Profile("dev", emu.host_port, fingerprint=emu.fingerprint)
        ProfileStore(default_config_dir()).save(profile)
        client = DeviceClient(profile)
        client.provision(Secret("unlockunlock"), Secret("adminadmin"))
        passfile = tmp_path / "admin.pass"
        passfile.write_text("adminadmin\n")
        passfile.chmod(0o600)
        yield Setup(emu, client, passfile, ["--profile", "dev", "--passphrase-file", str(passfile)])


def run(setup: Setup, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["system", *argv, *setup.args])
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(setup, capsys, "info", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["info"]["device_id"] == setup.emu.hsm.device_id
    assert data["state"] == "Operational" and data["tls"]["matches_pin"] is True
    assert data["network"]["ip_address"] == "192.168.1.1" and abs(data["drift_seconds"]) < 5
    code, out, _ = run(setup, capsys, "info")
    assert code == 0 and "Device id" in out and "this computer" in out.split("Clock", 1)[1].split("\n")[0]


def test_setters_change_the_device_and_journal(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(setup, capsys, "network", "--ip-address", "10.0.0.7", "--netmask", "24",
                       "--gateway", "10.0.0.1", "--yes", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["gateway"] == "10.0.0.1"
    assert setup.emu.hsm.get_network()["ipAddress"] == "10.0.0.7"
    code, _, _ = run(setup, capsys, "logging", "--ip-address", "192.0.2.9", "--level", "error")
    assert code == 0
    assert setup.emu.hsm.get_logging() == {"ipAddress": "192.0.2.9", "port": 514, "logLevel": "error"}
    code, _, _ = run(setup, capsys, "time", "--set", "2030-01-02T03:04:05Z")
    assert code == 0
    code, out, _ = run(setup, capsys, "time", "--json")
    assert json.loads(out)["device_time"].startswith("2030-01-02T03:04")
    code, _, _ = run(setup, capsys, "boot-mode", "--unattended", "on", "--yes")
    assert code == 0 and setup.emu.hsm.get_unattended_boot() is True
    assert setup.journal_actions() == [
        ("system.network", "ok"), ("system.logging", "ok"), ("system.time", "ok"),
        ("system.unattended-boot", "ok"),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["network", "--ip-address", "10.0.0.300", "--netmask", "24", "--yes"],
        ["network", "--ip-address", "10.0.0.7", "--netmask", "255.0.255.0", "--yes"],
        ["network", "--ip-address", "10.0.0.7", "--netmask", "24", "--gateway", "10.9.9.9", "--yes"],
        ["logging", "--port", "70000"],
        ["logging", "--level", "loud"],
        ["logging", "--ip-address", "syslog.example"],
        ["time", "--set", "2030-01-02T03:04:05+02:00"],
        ["network", "--ip-address", "10.0.0.7", "--netmask", "24"],  # no --yes and not a terminal
        ["factory-reset"],  # no --confirm-device-id and not a terminal
        ["factory-reset", "--confirm-device-id", "0000"],  # not the full id
        ["tls", "--csr", "x.csr"],  # no --cn
        ["update"],
    ],
)
def test_bad_values_exit_2_and_change_nothing(
    setup: Setup, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    writes = setup.emu.hsm.kv_writes
    network, logging = setup.emu.hsm.get_network(), setup.emu.hsm.get_logging()
    code, _, err = run(setup, capsys, *argv)
    assert code == 2, err
    assert err.startswith("hsmconsole: ")
    assert setup.emu.hsm.kv_writes == writes
    assert (setup.emu.hsm.get_network(), setup.emu.hsm.get_logging()) == (network, logging)
    assert setup.client.state() is DeviceState.OPERATIONAL


def test_a_bad_value_is_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    # Nothing listens on port 1: reaching for the device would fail with exit 1, not 2.
    ProfileStore(default_config_dir()).save(Profile("nowhere", "127.0.0.1:1", fingerprint="00" * 32))
    code = main(["system", "network", "--profile", "nowhere", "--ip-address", "1.2.3.4",
                 "--netmask", "255.255.0.255", "--yes"])  # fmt: skip
    assert code == 2
    assert "not contiguous" in capsys.readouterr().err


def test_update_commit_with_notes_and_refusals(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "update.img"
    image.write_bytes(build_update(VENDOR, "Release 7.0: new things", "7.0", bytes(512 * 4)))
    code, out, _ = run(setup, capsys, "update", str(image))  # not a terminal: must say what then
    assert code == 2 and setup.emu.hsm.system_info()["softwareVersion"] != "7.0"
    bogus = tmp_path / "bogus.img"
    bogus.write_bytes(build_update(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                   "x", "7.0", bytes(512)))  # fmt: skip
    code, _, err = run(setup, capsys, "update", str(bogus), "--commit")
    assert code == 1 and "signature is not valid" in err
    code, out, err = run(setup, capsys, "update", str(image), "--commit")
    assert code == 0 and "Release 7.0: new things" in out and "committed" in err
    assert setup.client.state() is DeviceState.LOCKED
    setup.client.unlock(Secret("unlockunlock"))
    assert setup.emu.hsm.system_info()["softwareVersion"] == "7.0"


def test_tls_csr_and_metrics(setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csr = tmp_path / "device.csr"
    code, out, _ = run(setup, capsys, "tls", "--csr", str(csr), "--cn", "nethsm.example", "--json")
    assert code == 0 and csr.read_text().startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert json.loads(out)["fingerprint"] == setup.emu.fingerprint
    setup.client.add_user(Credentials("admin", Secret("adminadmin")), "metrics", "M", UserRole.METRICS,
                          Secret("metricsmetrics"))  # fmt: skip
    mfile = tmp_path / "m.pass"
    mfile.write_text("metricsmetrics")
    code = main(["system", "metrics", "--profile", "dev", "--passphrase-file", str(mfile), "--json"])
    out = capsys.readouterr().out
    assert code == 0 and "uptime" in json.loads(out)


def test_factory_reset_with_the_full_device_id(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(setup, capsys, "factory-reset", "--confirm-device-id", setup.emu.hsm.device_id)
    assert code == 0 and "NEW TLS certificate" in err
    fresh = DeviceClient(Profile("after", setup.emu.host_port, fingerprint=setup.emu.fingerprint))
    assert fresh.state() is DeviceState.UNPROVISIONED
    assert setup.journal_actions()[-1] == ("system.factory-reset", "ok")


def test_reboot_needs_yes_in_a_script(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(setup, capsys, "reboot")
    assert code == 2 and setup.client.state() is DeviceState.OPERATIONAL
    code, _, _ = run(setup, capsys, "reboot", "--yes")
    assert code == 0 and setup.client.state() is DeviceState.LOCKED


def test_network_move_updates_the_profile_on_request(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    from hsmconsole.device import system as dev

    dev.set_network(setup.client, Credentials("admin", Secret("adminadmin")),
                    dev.NetworkSettings("127.0.0.1", "255.0.0.0"))  # fmt: skip
    code, _, err = run(setup, capsys, "network", "--ip-address", "127.0.0.3", "--yes", "--update-profile")
    port = setup.emu.host_port.rsplit(":", 1)[1]
    assert code == 0 and f"now answers at 127.0.0.3:{port}" in err
    assert ProfileStore(default_config_dir()).get("dev").host == f"127.0.0.3:{port}"


def _on_a_terminal(argv: list[str], answers: list[tuple[str, str]], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI as a process on a pseudo-terminal; answer each prompt (text seen → line typed)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    main_fd, sub_fd = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hsmconsole", *argv], stdin=sub_fd, stdout=sub_fd,
                            stderr=sub_fd, env=env, close_fds=True)  # fmt: skip
    os.close(sub_fd)
    seen = ""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main_fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
            seen += chunk
        if pending and pending[0][0] in seen:
            os.write(main_fd, (pending.pop(0)[1] + "\n").encode())
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(10)
    os.close(main_fd)
    return code, seen


@pytest.mark.slow
def test_interactive_update_and_factory_reset_on_a_terminal(setup: Setup, tmp_path: Path) -> None:
    import os

    env = dict(os.environ)  # the XDG directories of the fixture are in it
    image = tmp_path / "update.img"
    image.write_bytes(build_update(VENDOR, "Release 7.1 notes", "7.1", bytes(512 * 2048)))
    code, seen = _on_a_terminal(["system", "update", str(image), *setup.args],
                                [("[commit/cancel]", "cancel")], env)  # fmt: skip
    assert code == 0, seen
    assert "Uploading [" in seen and "100%" in seen and "Release 7.1 notes" in seen and "cancelled" in seen
    device_id = setup.emu.hsm.device_id
    code, seen = _on_a_terminal(["system", "factory-reset", *setup.args], [("type its device id", "00")], env)
    assert code == 2 and "not this device's id" in seen
    assert setup.client.state() is DeviceState.OPERATIONAL
    code, seen = _on_a_terminal(["system", "factory-reset", *setup.args],
                                [("type its device id", device_id)], env)  # fmt: skip
    assert code == 0, seen
    assert "every key, every user" in seen and "Make a backup first" in seen


def test_admin_from_a_quorum_of_share_files(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from hsmconsole.custody.shares import SecretKind, encode_share
    from hsmconsole.custody.split import split_secret

    def files(secret: str, kind: SecretKind) -> list[str]:
        paths = []
        for i, share in enumerate(split_secret(Secret(secret), threshold=2, count=3, kind=kind)):
            path = tmp_path / f"{kind.value}-{i}.share"
            path.write_bytes(encode_share(share).reveal())
            paths.append(str(path))
        return paths

    admin_files = files("adminadmin", SecretKind.ADMIN)
    code = main(["system", "time", "--profile", "dev", "--share-file", admin_files[0],
                 "--share-file", admin_files[2], "--json"])  # fmt: skip
    assert code == 0 and "device_time" in json.loads(capsys.readouterr().out)
    code = main(["system", "time", "--profile", "dev", "--share-file", admin_files[0]])
    assert code == 2 and "needs 2" in capsys.readouterr().err
    unlock_files = files("unlockunlock", SecretKind.UNLOCK)
    code = main(["system", "time", "--profile", "dev", "--share-file", unlock_files[0],
                 "--share-file", unlock_files[1]])  # fmt: skip
    assert code == 2 and "not of the admin passphrase" in capsys.readouterr().err
