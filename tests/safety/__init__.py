"""The safety suite: one module per invariant of issue 13; each test tries every path around
the invariant (CLI, chat, API, gateway admin API, sync, an MLflow tag edit, a crash) and asserts
the typed refusal and that nothing changed."""
