"""Command modules: one per `loratui` subcommand group, imported lazily by cli.py."""
