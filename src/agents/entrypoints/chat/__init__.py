"""Chat ops: text -> typed command (`chat_parser`) -> use case -> one sentence (`chat`)."""
