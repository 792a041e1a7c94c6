"""Measuring: prepare a store, start and sample workers and commands from outside, build a `Run`."""
