"""Re-export: the chat grammar's words live in ``agents.chat_vocabulary``."""

from agents.chat_vocabulary import GRAMMAR_HELP, MAX_COMMAND_CHARS, Missing, Slot

__all__ = ["GRAMMAR_HELP", "MAX_COMMAND_CHARS", "Missing", "Slot"]
