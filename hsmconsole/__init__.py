"""hsmconsole: a terminal console for administering Nitrokey NetHSMs (domain core; never imports Textual)."""

__version__ = "0.1.0"
