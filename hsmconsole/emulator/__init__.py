"""Built-in emulator of the NetHSM REST API v1, faithful to the device down to its store and backup format.

Layers (each module has one job):
  store.py    the device's key-value store (in memory or a state directory), persisted atomically
  hsm.py      the device model: states, users, namespaces, keys, config, backup/restore (hsm.ml)
  keys.py     key cryptography: generate/import/public/CSR/sign/decrypt/encrypt as the device does it
  app.py      the Starlette ASGI app: routing, order of checks, auth, rate limits, JSON schemas
  server.py   TLS certificate handling and the uvicorn server (standalone or embedded in a thread)
  cli.py      `hsmconsole emulator` subcommand
"""
