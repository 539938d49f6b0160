"""The administration file parser: the model it builds, and every refusal naming the right line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsmconsole.admin.config import load_config, parse_config
from hsmconsole.admin.model import ConfigError, PassphraseStore
from hsmconsole.inventory import KeyMechanism, KeyType
from hsmconsole.models import UserRole
from tests.admin_configs import config_docs, to_toml

GOOD = """\
[[namespaces]]
id = "repo"

[[users]]
id = "repo~admin"
name = "Repository administrator"
role = "Administrator"
passphrase = { generate = true, file = "secrets/repo-admin.pass" }

[[users]]
id = "repo~signer"
role = "Operator"
tags = ["repo"]
passphrase = { generate = true, keyring = true }

[[keys]]
namespace = "repo"
id = "repo-rsa"
type = "RSA"
length = 3072
mechanisms = ["RSA_Signature_PKCS1"]
tags = ["repo"]
label = "Repository signing"
"""


def parse(text: str, tmp_path: Path) -> object:
    return parse_config(text, tmp_path / "admin.toml")


def problems(text: str, tmp_path: Path) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as info:
        parse(text, tmp_path)
    return info.value.problems


def test_good_file_builds_the_model_with_paths_from_the_files_folder(tmp_path: Path) -> None:
    config = parse_config(GOOD, tmp_path / "admin.toml")
    assert [n.namespace for n in config.namespaces] == ["repo"]
    admin, signer = config.users
    assert admin.role is UserRole.ADMINISTRATOR and admin.real_name == "Repository administrator"
    assert admin.passphrase.store is PassphraseStore.FILE
    assert admin.passphrase.path == tmp_path / "secrets" / "repo-admin.pass"
    assert signer.passphrase.store is PassphraseStore.KEYRING and signer.passphrase.generate
    assert signer.tags == {"repo"} and signer.real_name == "repo~signer" and admin.line == 4
    (key,) = config.keys
    assert key.type is KeyType.RSA and key.length == 3072 and key.namespace == "repo"
    assert key.mechanisms == {KeyMechanism.RSA_SIGNATURE_PKCS1} and key.line == 16
    assert config.namespace_admin("repo") == admin


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (
            (
                'tags = ["repo"]\npassphrase = { generate',
                'tags = ["repo"]\ncolour = 1\npassphrase = { generate',
            ),
            14,
            "unknown field 'colour'",
        ),
        (('id = "repo-rsa"', 'id = "-rsa"'), 18, "cannot start"),
        (("length = 3072", "length = 512"), 20, "cannot be 512 bits"),
        (
            ('mechanisms = ["RSA_Signature_PKCS1"]', 'mechanisms = ["EdDSA_Signature"]'),
            21,
            "EdDSA_Signature cannot be used with a RSA key",
        ),
        (('mechanisms = ["RSA_Signature_PKCS1"]', 'mechanisms = ["RSA_Sign"]'), 21, "does not exist"),
        (('type = "RSA"', 'type = "DSA"'), 19, "key type 'DSA'"),
        (('role = "Operator"', 'role = "Operater"'), 12, "role 'Operater'"),
        (('id = "repo~signer"', 'id = "repo~admin"'), 10, "declared twice (first on line 4)"),
        (("{ generate = true, keyring = true }", '{ file = "missing.pass" }'), 14, "does not exist"),
        (("{ generate = true, keyring = true }", '{ keyring = true, file = "x" }'), 14, "exactly one"),
        (('label = "Repository signing"', 'label = "' + "x" * 33 + '"'), 23, "longer than 32 bytes"),
        (("length = 3072\n", ""), 16, "'length' is missing"),
        (('id = "repo"', 'id = "rep o"'), 2, "namespace 'rep o'"),
        (("[[keys]]", "[[key]]"), 16, "unknown field 'key'"),
        (
            ('tags = ["repo"]\nlabel', 'tags = ["repo"]\ncertificate = "none.pem"\nlabel'),
            23,
            "cannot read certificate",
        ),
    ],
)
def test_each_mistake_is_reported_at_its_line(
    tmp_path: Path, change: tuple[str, str], line: int, words: str
) -> None:
    text = GOOD.replace(*change, 1) if change[0] != "[[keys]]" else GOOD.replace("[[keys]]", "[[key]]")
    assert text != GOOD
    found = problems(text, tmp_path)
    assert any(ln == line and words in msg for ln, msg in found), found


def test_a_literal_passphrase_is_refused_and_never_echoed(tmp_path: Path) -> None:
    text = GOOD.replace("{ generate = true, keyring = true }", '"correct horse battery"')
    with pytest.raises(ConfigError) as info:
        parse(text, tmp_path)
    assert "correct horse" not in str(info.value)
    assert info.value.problems[0][0] == 14 and "refused" in info.value.problems[0][1]


def test_all_problems_are_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = GOOD.replace('role = "Operator"', 'role = "Nobody"').replace("length = 3072", "length = 1")
    found = problems(text, tmp_path)
    assert [ln for ln, _ in found] == sorted(ln or 0 for ln, _ in found) and len(found) == 2


def test_namespace_rules(tmp_path: Path) -> None:
    no_admin = GOOD.replace('role = "Administrator"', 'role = "Metrics"')
    assert any("no Administrator" in m for _, m in problems(no_admin, tmp_path))
    undeclared = GOOD.replace('[[namespaces]]\nid = "repo"\n', "")
    assert any("no [[namespaces]] table declares" in m for _, m in problems(undeclared, tmp_path))
    tagged_admin = GOOD.replace('role = "Administrator"', 'role = "Administrator"\ntags = ["x"]')
    assert any("only Operators have tags" in m for _, m in problems(tagged_admin, tmp_path))
    admin = GOOD.replace('id = "repo~signer"', 'id = "admin"')
    assert any("'admin' user is made by provisioning" in m for _, m in problems(admin, tmp_path))


def test_toml_syntax_errors_keep_their_line(tmp_path: Path) -> None:
    found = problems(GOOD.replace('id = "repo-rsa"', 'id = "repo-rsa'), tmp_path)
    assert found[0][0] == 18 and "not valid TOML" in found[0][1]


def test_load_config_reads_relative_paths_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "admin.toml").write_text(
        GOOD.replace("generate = true, keyring = true", 'file = "s.pass"')
    )
    (tmp_path / "conf" / "s.pass").write_text("x" * 20)
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("conf/admin.toml"))
    assert config.users[1].passphrase.path == tmp_path / "conf" / "s.pass"
    assert os.path.isabs(str(config.source))


@given(doc=config_docs())
def test_random_valid_files_parse_to_what_they_say(
    tmp_path_factory: pytest.TempPathFactory, doc: dict
) -> None:
    base = tmp_path_factory.mktemp("cfg")
    config = parse_config(to_toml(doc), base / "admin.toml")
    assert [u.user_id for u in config.users] == [u["id"] for u in doc["users"]]
    assert [(k.namespace, k.key_id) for k in config.keys] == [
        (k.get("namespace", ""), k["id"]) for k in doc["keys"]
    ]
    for spec, raw in zip(config.keys, doc["keys"], strict=True):
        assert {m.value for m in spec.mechanisms} == set(raw["mechanisms"]) and spec.tags == set(raw["tags"])


@given(doc=config_docs(), data=st.data())
def test_an_unknown_field_anywhere_is_reported_at_its_line(
    tmp_path_factory: pytest.TempPathFactory, doc: dict, data: st.DataObject
) -> None:
    tables = [(name, i) for name in ("namespaces", "users", "keys") for i in range(len(doc[name]))]
    if not tables:
        return
    name, index = data.draw(st.sampled_from(tables))
    doc[name][index]["zzz_unknown"] = 1
    text = to_toml(doc)
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path_factory.mktemp("cfg") / "admin.toml")
    line = text.splitlines().index("zzz_unknown = 1") + 1
    assert info.value.problems == [(line, info.value.problems[0][1])]
    assert "zzz_unknown" in info.value.problems[0][1]
