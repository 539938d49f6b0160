"""Backup screens: make a backup, inspect one offline, rehearse a restore."""
