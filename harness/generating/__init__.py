"""Generating: synthetic `sessions.json` stores in the gateway's format, to the exact byte."""
