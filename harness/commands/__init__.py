"""The CLI's commands, one module each; only these and cli.py import click."""
