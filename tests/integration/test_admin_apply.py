"""plan/apply against the emulator over HTTPS: idempotence, interruption, conflicts, prune, journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsmconsole.admin.apply import apply_plan
from hsmconsole.admin.config import parse_config
from hsmconsole.admin.model import AdminConfig
from hsmconsole.admin.passphrases import Passphrases
from hsmconsole.admin.plan import Change, Op
from hsmconsole.admin.state import Actors, compute_plan, read_snapshot
from hsmconsole.device import keys as device_keys
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.journal.chain import Journal, verify_journal
from hsmconsole.secrets import Secret
from tests.admin_configs import config_docs, to_toml
from tests.unit.test_admin_config import GOOD

from .conftest import ADMIN_PASSPHRASE, ADMIN_USER


class Stop(Exception):
    """Stands in for anything that ends an apply between two requests."""


def root() -> Credentials:
    return Credentials(ADMIN_USER, Secret(ADMIN_PASSPHRASE))


@pytest.fixture
def client(provisioned: EmbeddedEmulator) -> Iterator[DeviceClient]:
    yield DeviceClient(Profile("emu", provisioned.host_port, fingerprint=provisioned.fingerprint))


def plan_of(client: DeviceClient, config: AdminConfig, *, prune: bool = False):  # type: ignore[no-untyped-def]
    return compute_plan(client, config, Actors(root(), config, Passphrases("emu")), prune=prune)


def run(client: DeviceClient, config: AdminConfig, journal: Journal | None = None, **kw):  # type: ignore[no-untyped-def]
    plan = plan_of(client, config, prune=kw.pop("prune", False))
    assert not plan.conflicts
    return apply_plan(
        client, plan, Actors(root(), config, Passphrases("emu")), Passphrases("emu"), journal=journal, **kw
    )


def no_keyring_example(tmp_path: Path) -> AdminConfig:
    text = GOOD.replace(
        "{ generate = true, keyring = true }", '{ generate = true, file = "secrets/signer.pass" }'
    )
    return parse_config(text, tmp_path / "admin.toml")


def test_apply_makes_the_device_match_and_a_second_plan_is_empty(
    client: DeviceClient, tmp_path: Path
) -> None:
    config = no_keyring_example(tmp_path)
    journal = Journal(tmp_path / "journal.jsonl")
    report = run(client, config, journal)
    assert report.ok and len(report.applied) == 6
    assert plan_of(client, config).empty
    pass_file = tmp_path / "secrets" / "repo-admin.pass"
    assert pass_file.stat().st_mode & 0o777 == 0o600
    # The namespace administrator can use its generated passphrase and sees its key with its tag.
    ns_admin = Credentials("repo~admin", Secret(pass_file.read_bytes()))
    (key,) = device_keys.get_keys(client, ns_admin, ["repo-rsa"])
    assert key.tags == ("repo",) and key.bits == 3072 and key.label == "Repository signing"
    entries = journal.entries()
    assert [e.event.action for e in entries][:3] == [
        "admin.user.create",
        "admin.user.create",
        "admin.namespace.create",
    ]
    assert verify_journal(journal.path).ok
    text = journal.path.read_text()
    assert pass_file.read_text().strip() not in text


def test_tags_are_changed_by_difference_and_conflicts_block(client: DeviceClient, tmp_path: Path) -> None:
    config = no_keyring_example(tmp_path)
    assert run(client, config).ok
    changed = parse_config(
        (tmp_path / "x").name
        and GOOD.replace('tags = ["repo"]\nlabel', 'tags = ["release"]\nlabel').replace(
            "{ generate = true, keyring = true }", '{ generate = true, file = "secrets/signer.pass" }'
        ),
        tmp_path / "admin.toml",
    )
    plan = plan_of(client, changed)
    assert [(c.op, c.value) for c in plan.changes] == [
        (Op.KEY_TAG_ADD, "release"),
        (Op.KEY_TAG_REMOVE, "repo"),
    ]
    conflict = parse_config(
        GOOD.replace(
            'type = "RSA"\nlength = 3072\nmechanisms = ["RSA_Signature_PKCS1"]',
            'type = "Curve25519"\nmechanisms = ["EdDSA_Signature"]',
        ).replace("{ generate = true, keyring = true }", '{ generate = true, file = "secrets/signer.pass" }'),
        tmp_path / "admin.toml",
    )
    plan = plan_of(client, conflict)
    assert [c.target for c in plan.conflicts] == ["key repo/repo-rsa"]


def test_prune_deletes_only_what_the_file_leaves_out(client: DeviceClient, tmp_path: Path) -> None:
    config = no_keyring_example(tmp_path)
    assert run(client, config).ok
    device_keys.generate_key(
        client,
        root(),
        device_keys.KeyType.CURVE25519,
        [device_keys.KeyMechanism.EDDSA_SIGNATURE],
        key_id="stray",
    )
    plan = plan_of(client, config)
    assert plan.changes == () and plan.unmanaged == ("delete key stray",)
    report = run(client, config, prune=True)
    assert [c.op for c in report.applied] == [Op.KEY_DELETE] and plan_of(client, config, prune=True).empty


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=config_docs(max_keys=2), data=st.data())
def test_interrupted_apply_converges_when_run_again(
    tmp_path_factory: pytest.TempPathFactory, doc: dict, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("cfg")
    config = parse_config(to_toml(doc), folder / "admin.toml")
    with EmbeddedEmulator() as emu:
        from datetime import UTC, datetime

        client = DeviceClient(Profile("emu", emu.host_port, fingerprint=emu.fingerprint))
        client.provision(Secret("unlockunlock"), Secret(ADMIN_PASSPHRASE), datetime(2025, 1, 1, tzinfo=UTC))
        first = plan_of(client, config)
        cut = data.draw(st.integers(0, len(first.changes)))

        def stop_at(index: int, total: int, change: Change) -> None:
            if index == cut:
                raise Stop

        try:
            report = run(client, config, progress=stop_at)
        except Stop:
            pass
        else:
            assert report.ok and cut == len(first.changes)
        second = run(client, config)
        assert second.ok
        assert plan_of(client, config).empty
        snapshot = read_snapshot(client, Actors(root(), config, Passphrases("emu")), config)
        assert {k for k in snapshot.keys} == {k.ref for k in config.keys}


def test_many_keys_are_read_by_several_sessions_completely_and_in_order(client: DeviceClient) -> None:
    from hsmconsole.admin.state import read_many

    creds = root()
    with client.batch(creds) as batch:
        for i in range(140):
            device_keys.generate_key(
                batch,
                creds,
                device_keys.KeyType.CURVE25519,
                [device_keys.KeyMechanism.EDDSA_SIGNATURE],
                key_id=f"k{i:03d}",
            )
    ids = device_keys.list_key_ids(client, creds)
    found = read_many(client, creds, ids, device_keys.get_keys)
    assert [k.key_id for k in found] == ids and len(ids) == 140


def _self_signed(common_name: str) -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def test_certificates_and_labels_converge(client: DeviceClient, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(_self_signed("first"))
    text = (
        '[[keys]]\nid = "web"\ntype = "EC_P256"\nmechanisms = ["ECDSA_Signature"]\n'
        'label = "Web"\ncertificate = "cert.pem"\n'
    )
    config = parse_config(text, tmp_path / "admin.toml")
    plan = plan_of(client, config)
    assert [c.op for c in plan.changes] == [Op.KEY_GENERATE, Op.KEY_CERT_SET]
    assert run(client, config).ok and plan_of(client, config).empty
    assert device_keys.get_certificate(client, root(), "web") == cert.read_bytes()
    cert.write_bytes(_self_signed("second"))
    changed = parse_config(text.replace('label = "Web"\n', ""), tmp_path / "admin.toml")
    plan = plan_of(client, changed)
    assert [c.op for c in plan.changes] == [Op.KEY_LABEL, Op.KEY_CERT_DELETE, Op.KEY_CERT_SET]
    assert run(client, changed).ok and plan_of(client, changed).empty
    assert device_keys.get_certificate(client, root(), "web") == cert.read_bytes()
    (key,) = device_keys.get_keys(client, root(), ["web"])
    assert key.label == ""


def test_a_refused_request_stops_with_a_report_and_a_second_run_continues(
    client: DeviceClient, tmp_path: Path
) -> None:
    from hsmconsole.device import users as device_users
    from hsmconsole.models import UserRole

    config = no_keyring_example(tmp_path)
    actors = Actors(root(), config, Passphrases("emu"))
    plan = compute_plan(client, config, actors)
    # Someone else creates one of the users between plan and apply: the device refuses ours (409).
    device_users.add_user(
        client, root(), "repo~signer", "raced", UserRole.OPERATOR, Secret("raced-passphrase")
    )
    journal = Journal(tmp_path / "journal.jsonl")
    report = apply_plan(
        client, plan, Actors(root(), config, Passphrases("emu")), Passphrases("emu"), journal=journal
    )
    assert not report.ok and report.failed is not None and report.failed.target == "repo~signer"
    assert report.error is not None and "already exists" in report.error.title
    assert [c.target for c in report.applied] == ["repo~admin"] and len(report.not_applied) == 4
    assert [(e.event.action, e.event.outcome.value) for e in journal.entries()][-1] == (
        "admin.user.create",
        "failed",
    )
    second = run(client, config)
    assert second.ok and plan_of(client, config).notes  # the raced user's real name differs: noted
    assert plan_of(client, config).changes == ()
