"""Subcommands of ``bioformats-ext``; each module parses its own options and calls the public API."""
