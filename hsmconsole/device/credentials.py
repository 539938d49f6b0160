"""Day-to-day user passphrases in the OS keyring when one exists; in a rescue system, prompts."""

from __future__ import annotations

import contextlib

from hsmconsole.secrets import Secret

_SERVICE = "hsmconsole"


class CredentialVault:
    """A thin guard around `keyring`: usable only when a real (non-fail, non-plaintext) backend exists.

    Custodian secrets (unlock, admin, backup passphrases and shares) never go here: only passphrases
    of day-to-day users (an operator, a backup user), and only when the person asks.
    """

    def __init__(self) -> None:
        self._backend_name = "none"
        self.available = False
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            name = type(backend).__module__ + "." + type(backend).__name__
            self._backend_name = name
            priority = float(getattr(backend, "priority", 0))
            # The fail backend and plaintext/null backends would defeat the point.
            insecure = "plaintext" in name.lower() or "null" in name.lower()
            self.available = not isinstance(backend, fail.Keyring) and priority > 0 and not insecure
        except Exception:
            self.available = False

    @property
    def description(self) -> str:
        if self.available:
            return f"OS keyring ({self._backend_name})"
        return "no OS keyring here: passphrases are asked for each time and never stored"

    @property
    def notice(self) -> str:
        """The description as a sentence of its own (for a toast or a hint)."""
        text = self.description
        return text[:1].upper() + text[1:] + "."

    @staticmethod
    def _key(profile: str, user_id: str) -> str:
        return f"{profile}/{user_id}"

    def get(self, profile: str, user_id: str) -> Secret | None:
        if not self.available:
            return None
        import keyring

        try:
            value = keyring.get_password(_SERVICE, self._key(profile, user_id))
        except Exception:
            return None
        return Secret(value, label=f"passphrase of {user_id}") if value else None

    def has(self, profile: str, user_id: str) -> bool:
        """Whether a passphrase is kept for this user (read and wiped at once)."""
        secret = self.get(profile, user_id)
        if secret is None:
            return False
        secret.wipe()
        return True

    def set(self, profile: str, user_id: str, passphrase: Secret) -> bool:
        if not self.available:
            return False
        import keyring

        try:
            keyring.set_password(_SERVICE, self._key(profile, user_id), passphrase.reveal_str())
        except Exception:
            return False
        return True

    def forget(self, profile: str, user_id: str) -> None:
        if not self.available:
            return
        import keyring

        # Nothing stored afterwards is the desired end state, whatever the backend says.
        with contextlib.suppress(Exception):
            keyring.delete_password(_SERVICE, self._key(profile, user_id))
