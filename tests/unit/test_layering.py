"""The wings' import rules (docs/development.md): each wing imports only the wings below it."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hsmconsole

ROOT = Path(__file__).resolve().parents[2]

BASE = frozenset({"errors", "secrets", "fileio", "models", "alphabet", "inventory"})
FLOWS = frozenset({"ceremony", "admin", "backup", "rotation", "system"})
# What each wing may import of ours, besides itself. `emulator.server` is the emulator's public face
# (EmbeddedEmulator): what starts a throwaway device may use it, never the emulator's internals.
ALLOWED: dict[str, frozenset[str]] = {
    "base": BASE,
    "device": BASE,
    "custody": BASE,
    "journal": BASE,
    "access": BASE | {"device", "custody", "journal"},
    **{flow: BASE | {"device", "custody", "journal", "access", "emulator.server"} for flow in FLOWS},
    "emulator": BASE | {"backup.format"},
}
TOP = frozenset({"commands", "cli", "__main__", "screens"})  # sit on top: may import any wing


def wing_of(module: str) -> str:
    """'hsmconsole.device.client' -> 'device'; 'hsmconsole.errors' -> 'base'; 'screens.x' -> 'screens'."""
    parts = module.split(".")
    if parts[0] == "screens":
        return "screens"
    name = parts[1] if len(parts) > 1 else "__init__"
    return "base" if name in BASE or name == "__init__" else name


def _target(module: str) -> str:
    """The name an import is checked by: the wing, or 'backup.format' / 'emulator.server' exactly."""
    parts = module.split(".")
    if len(parts) >= 3 and ".".join(parts[1:3]) in ("backup.format", "emulator.server"):
        return ".".join(parts[1:3])
    if len(parts) > 1 and parts[1] in BASE:
        return parts[1]
    return wing_of(module)


def imports_of(path: Path, module: str) -> list[str]:
    """Every module of ours that `path` imports, at any depth (functions and TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], base])
            # `from pkg import name`: name may be a submodule, so the check sees pkg.name.
            found += [f"{base}.{a.name}" for a in node.names]
    return [m for m in found if m.split(".")[0] in ("hsmconsole", "screens")]


def violations(module: str, imported: list[str]) -> list[str]:
    wing = wing_of(module)
    if wing in TOP:
        return []
    allowed = ALLOWED.get(wing)
    assert allowed is not None, f"{module}: wing {wing!r} has no rule; add it to ALLOWED and the docs"
    bad = []
    for target in imported:
        if wing_of(target) == wing or _target(target) in allowed:
            continue
        bad.append(f"{module} imports {target}")
    return bad


def _all_modules() -> list[tuple[str, Path]]:
    out = []
    for top in ("hsmconsole", "screens"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out.append((".".join(parts), path))
    return out


def test_every_wing_imports_only_what_its_rule_allows() -> None:
    bad = []
    for module, path in _all_modules():
        bad += violations(module, imports_of(path, module))
    assert bad == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("hsmconsole.errors", ["hsmconsole.device.client"]),  # base imports nothing of ours
        ("hsmconsole.device.client", ["hsmconsole.journal.chain"]),  # device: only base
        ("hsmconsole.custody.quorum", ["hsmconsole.device.client"]),  # custody: only base
        ("hsmconsole.journal.chain", ["hsmconsole.custody.sharecode"]),  # journal: only base
        ("hsmconsole.ceremony.run", ["hsmconsole.backup.format"]),  # a flow never reaches into another
        ("hsmconsole.emulator.hsm", ["hsmconsole.device.tls"]),  # the emulator: base and backup format
        ("hsmconsole.emulator.hsm", ["screens.app"]),  # ... never the console
        ("hsmconsole.ceremony.run", ["hsmconsole.emulator.hsm"]),  # emulator internals are its own
        ("hsmconsole.device.tls", ["screens.base"]),  # the core never imports the UI
    ],
)
def test_the_rules_refuse_a_wrong_import(module: str, imported: list[str]) -> None:
    assert violations(module, imported) != []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("hsmconsole.emulator.hsm", ["hsmconsole.backup.format", "hsmconsole.errors"]),
        ("hsmconsole.access.session", ["hsmconsole.device.client", "hsmconsole.custody.quorum"]),
        ("hsmconsole.ceremony.run", ["hsmconsole.access.session", "hsmconsole.journal.chain"]),
        ("hsmconsole.commands.tui", ["screens.app", "hsmconsole.emulator.server"]),
    ],
)
def test_the_rules_allow_what_the_docs_allow(module: str, imported: list[str]) -> None:
    assert violations(module, imported) == []


def _core_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(hsmconsole.__path__, prefix="hsmconsole.")
        if m.name not in ("hsmconsole.__main__",)
    )


def test_core_modules_do_not_import_textual() -> None:
    modules = _core_modules()
    assert "hsmconsole.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in Textual: {out.stdout.strip()[:200]}"


def test_only_the_device_wing_imports_the_sdk() -> None:
    """One facade: SDK calls and the translation of SDK errors live in hsmconsole/device/ only."""
    offenders = []
    for module, path in _all_modules():
        if module.startswith("hsmconsole.device."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{module}: {n}" for n in names if n.split(".")[0] == "nethsm"]
    assert offenders == []
