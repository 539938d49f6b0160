"""The core never imports Textual; the UI never imports the SDK (architecture: one-way layering)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import hsmconsole

ROOT = Path(__file__).resolve().parents[2]


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


def test_screens_do_not_import_the_sdk() -> None:
    offenders = []
    for path in (ROOT / "screens").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("import nethsm", "from nethsm")):
                offenders.append(f"{path.name}: {stripped}")
    assert offenders == []
