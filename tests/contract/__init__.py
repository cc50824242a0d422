"""Contract tests: each port's fake and its real adapter pass the same tests."""
