"""Credential rotation: device passphrases, user passphrases, TLS; never without a working set."""
