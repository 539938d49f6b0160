"""The copied backup vectors are the published ones (their SHA-256 sums from the vectors' README)."""

from __future__ import annotations

import hashlib

from tests.paths import SPEC, VECTORS

PUBLISHED = {
    "v0.bin": "236de408c88cb3847de1fd622936f0d7ae7c16cc702976b33f29068b5e161d1e",
    "v1.bin": "7889a50f4bdcc2758c2f775d091bf1e75e6a6fdd146136ef5936d8dd0b111713",
}


def test_backup_vectors_are_the_published_files() -> None:
    for name, digest in PUBLISHED.items():
        assert hashlib.sha256((VECTORS / name).read_bytes()).hexdigest() == digest
        assert digest in (VECTORS / "README.md").read_text()


def test_spec_is_present() -> None:
    assert SPEC.read_text().startswith("openapi: 3.0.0") or "openapi:" in SPEC.read_text()[:200]
