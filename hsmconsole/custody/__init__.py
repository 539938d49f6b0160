"""Secrets held by people: the share format, Shamir splitting, envelopes, passphrases, quorum collection."""
