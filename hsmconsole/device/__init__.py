"""Talking to a NetHSM: the SDK facade (TLS pinning, errors, timeouts), trust, profiles, keyring."""
