"""Re-export: the chat parser lives in ``agents.chat_parser`` so the supervisor (below the
entry points) reads chat text with the same grammar."""

from agents.chat_parser import Clarification, parse
from agents.chat_vocabulary import GRAMMAR_HELP, MAX_COMMAND_CHARS

__all__ = ["GRAMMAR_HELP", "MAX_COMMAND_CHARS", "Clarification", "parse"]
