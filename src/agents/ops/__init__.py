"""Operator-facing entry points: chat commands and scheduled runs."""
