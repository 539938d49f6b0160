"""Allows `python -m hsmconsole`."""

from hsmconsole.cli import main

raise SystemExit(main())
