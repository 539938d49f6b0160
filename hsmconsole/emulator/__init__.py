"""Built-in emulator of the NetHSM REST API v1, faithful to the device down to its store and backup format.

Layers (each module's first line says its job):
  HTTP       app.py (routing, order of checks) → handlers_*.py → ratelimit.py, multipart.py
  device     hsm.py (state machine, one lock) → hsm_users/keys/config/sealed/backup.py, hsm_types.py
  storage    store.py (KV + hardware identity), configstore.py, devconfig.py, devcrypto.py, records.py,
             restore.py, restore_check.py, sysupdate.py (update_keys/: --update-key presets); the
             backup file format is the core's hsmconsole/backup/format.py
  keys       keys.py (API), keys_raw.py (what `cryptography` lacks), keys_x509.py (CSRs, certificates)
  running    server.py (uvicorn in a thread with the device's TLS key), statelock.py (one emulator per
             state directory); the command line is hsmconsole/commands/emulator.py
See docs/emulator.md.
"""
