"""The run model: a run's configuration and records, and the one module that reads and writes
its result folder."""
