"""Read models: status, history, checks, traffic figures, audit. JSON-ready, no rendering."""
