"""The command-line subcommands, one module per group; hsmconsole.cli dispatches to them."""
