"""Settings read from the user's files (`[tool.harness.*]` tables), validated whole."""
