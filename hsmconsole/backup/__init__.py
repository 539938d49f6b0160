"""Backups: the file format (shared with the emulator), create, inspect, restore, rehearse."""
