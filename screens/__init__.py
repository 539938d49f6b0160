"""Textual screens of hsmconsole (the UI layer; never imports the nethsm SDK)."""
