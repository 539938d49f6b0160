"""hsmconsole: a console for administering Nitrokey NetHSMs (the domain core; never imports Textual)."""

__version__ = "0.1.0"
