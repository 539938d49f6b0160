"""Where the tests find the NetHSM reference material (copied into tests/reference/)."""

from __future__ import annotations

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference"
VECTORS = REFERENCE / "backup-vectors"
SPEC = REFERENCE / "nethsm-api.yaml"
