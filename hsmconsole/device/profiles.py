"""Connection profiles (address, pinned TLS fingerprint, user names) in TOML under XDG; never secrets."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs
import tomli_w

from hsmconsole.device.tls import normalize_fingerprint
from hsmconsole.errors import InputError
from hsmconsole.fileio import make_directory, write_private

APP_NAME = "hsmconsole"
DEFAULT_MAX_AGE_DAYS = 365
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` (and missing parents) with mode 0700 and return it: file names in the app's
    directories name custodians and share sets, which other local users have no business reading.

    With `tighten` an existing directory that others may read is narrowed to 0700 too (for the
    app's own directories; a directory the person chose is left as they set it up). Where the
    file system has no Unix modes (a FAT stick) the mount decides.
    """
    make_directory(path, mode=0o700)
    if tighten:
        with contextlib.suppress(OSError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o700)
    return path


def default_config_dir() -> Path:
    """$XDG_CONFIG_HOME/hsmconsole (platformdirs follows XDG on Linux). Only the path: the
    directory is made (0700) when profiles.toml is first written."""
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/hsmconsole: journals, ceremony reports and envelopes. Made 0700 (and an
    existing one narrowed to 0700) before it is returned, so whatever goes in it is private."""
    return private_dir(Path(platformdirs.user_data_dir(APP_NAME)), tighten=True)


@dataclass(frozen=True)
class Profile:
    """How to reach one NetHSM. `host` is "name[:port]" as the SDK takes it.

    `fingerprint` is None until the person has compared and confirmed the device certificate; an
    `insecure` profile skips verification and the console shows a persistent warning for it.
    """

    name: str
    host: str
    fingerprint: str | None = None
    insecure: bool = False
    users: tuple[str, ...] = field(default_factory=tuple)
    # Passphrase sets and the TLS certificate older than this are flagged on the dashboard.
    credential_max_age_days: int = DEFAULT_MAX_AGE_DAYS

    def __post_init__(self) -> None:
        if not _PROFILE_NAME.match(self.name):
            raise InputError(
                f"'{self.name}' is not a usable profile name.",
                "Use letters, digits, '.', '_' or '-' (up to 64 characters).",
            )
        if not self.host or any(ch.isspace() for ch in self.host) or "/" in self.host:
            raise InputError(
                f"'{self.host}' is not a device address.",
                "Give host or host:port, for example nethsm.example.org or 192.0.2.10:443.",
            )
        if not 1 <= self.credential_max_age_days <= 36500:
            raise InputError(
                f"A credential age limit of {self.credential_max_age_days} days is not usable.",
                "Give 1 to 36500 days (the default is 365).",
            )
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalize_fingerprint(self.fingerprint))

    @property
    def pinned(self) -> bool:
        return self.fingerprint is not None

    def with_fingerprint(self, fingerprint: str) -> Profile:
        return replace(self, fingerprint=fingerprint, insecure=False)

    def with_user(self, user_id: str) -> Profile:
        """The profile remembering `user_id` (a name only, never its passphrase), most recent first."""
        return replace(self, users=(user_id, *(u for u in self.users if u != user_id)))


class ProfileStore:
    """Reads and writes profiles.toml. Every save rewrites the file atomically with mode 0600."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self._own_dir = config_dir is None  # the app's default directory: narrowed to 0700
        self.config_dir = config_dir or default_config_dir()
        self.path = self.config_dir / "profiles.toml"

    def load(self) -> dict[str, Profile]:
        if not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                f"Cannot read {self.path}: {exc}",
                "Fix or remove the file; hsmconsole keeps only addresses and fingerprints there.",
            ) from exc
        profiles: dict[str, Profile] = {}
        for name, raw in (data.get("profiles") or {}).items():
            if not isinstance(raw, dict):
                continue
            users = raw.get("users", [])
            max_age = raw.get("credential_max_age_days", DEFAULT_MAX_AGE_DAYS)
            profiles[name] = Profile(
                name=name,
                host=str(raw.get("host", "")),
                fingerprint=raw.get("fingerprint") or None,
                insecure=bool(raw.get("insecure", False)),
                users=tuple(str(u) for u in users) if isinstance(users, list) else (),
                # A hand-edited unusable limit falls back to the default rather than hide the profile.
                credential_max_age_days=(
                    max_age if type(max_age) is int and 1 <= max_age <= 36500 else DEFAULT_MAX_AGE_DAYS
                ),
            )
        return profiles

    def get(self, name: str) -> Profile:
        profiles = self.load()
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none yet"
            raise InputError(f"No profile named '{name}'.", f"Known profiles: {known}.")
        return profiles[name]

    def save(self, profile: Profile) -> None:
        profiles = self.load()
        profiles[profile.name] = profile
        self._write(profiles)

    def remember_user(self, profile: Profile, user_id: str) -> Profile:
        """Add a user name to a profile. A profile that is not stored (the emulator's, for this
        session only) is updated in memory and nothing is written."""
        updated = profile.with_user(user_id)
        stored = self.load()
        if profile.name in stored:
            updated = stored[profile.name].with_user(user_id)
            self.save(updated)
        return updated

    def delete(self, name: str) -> None:
        profiles = self.load()
        profiles.pop(name, None)
        self._write(profiles)

    def _write(self, profiles: dict[str, Profile]) -> None:
        doc: dict[str, object] = {"profiles": {}}
        table: dict[str, object] = {}
        for name, p in sorted(profiles.items()):
            entry: dict[str, object] = {"host": p.host, "insecure": p.insecure, "users": list(p.users)}
            if p.credential_max_age_days != DEFAULT_MAX_AGE_DAYS:
                entry["credential_max_age_days"] = p.credential_max_age_days
            if p.fingerprint:
                entry["fingerprint"] = p.fingerprint
            table[name] = entry
        doc["profiles"] = table
        private_dir(self.config_dir, tighten=self._own_dir)
        write_private(self.path, tomli_w.dumps(doc).encode("utf-8"), overwrite=True)
