"""First-contact and later TLS trust decisions for a profile: show, compare, pin, or refuse."""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import (
    MISMATCH_HINT,
    CertificateMismatch,
    fetch_certificate,
    fingerprint_of,
    normalize_fingerprint,
)


class TrustVerdict(enum.Enum):
    FIRST_CONTACT = "first contact"  # nothing pinned yet: the person must compare and confirm
    MATCH = "match"  # the certificate is the pinned one
    MISMATCH = "mismatch"  # a different certificate: refuse
    INSECURE = "insecure"  # the profile explicitly skips verification


@dataclass(frozen=True)
class TrustCheck:
    profile: Profile
    presented: str  # the fingerprint the server presented just now
    verdict: TrustVerdict


def probe_fingerprint(host: str) -> str:
    """The SHA-256 fingerprint of the certificate `host` presents (not trusted by this call)."""
    return fingerprint_of(fetch_certificate(host))


def check_trust(profile: Profile, probe: Callable[[str], str] = probe_fingerprint) -> TrustCheck:
    """Compare what the device presents with the profile's pin. The pinned DeviceClient checks
    again on every connection, so a swap between this check and later calls is still refused."""
    presented = normalize_fingerprint(probe(profile.host))
    if profile.insecure and not profile.pinned:
        verdict = TrustVerdict.INSECURE
    elif profile.fingerprint is None:
        verdict = TrustVerdict.FIRST_CONTACT
    elif hmac.compare_digest(profile.fingerprint, presented):
        verdict = TrustVerdict.MATCH
    else:
        verdict = TrustVerdict.MISMATCH
    return TrustCheck(profile, presented, verdict)


def mismatch_error(check: TrustCheck) -> CertificateMismatch:
    """The refusal for a MISMATCH verdict, with both fingerprints to read out and compare."""
    return CertificateMismatch(
        f"{check.profile.host} presented a certificate that does NOT match the one pinned for "
        f"profile '{check.profile.name}'. Nothing was sent to it.",
        MISMATCH_HINT,
        pinned=check.profile.fingerprint or "",
        presented=check.presented,
    )


def grouped(fingerprint: str, per_line: int = 16) -> list[str]:
    """A fingerprint split into lines of `per_line` bytes, so it fits 80 columns for comparing."""
    parts = normalize_fingerprint(fingerprint).split(":")
    return [":".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)]
