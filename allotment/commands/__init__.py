"""The work behind ``allotment`` subcommands (``cli.py`` only parses and dispatches)."""
