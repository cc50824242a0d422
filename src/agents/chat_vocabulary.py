"""The chat grammar's words: command words and their synonyms, filler, slot patterns, and the
help text. ``chat_parser`` reads a sentence with them."""

from __future__ import annotations

import re
from typing import Literal

from agents.commands import Verb
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName
from lifecycle.tenants import QUALIFIED_NAME_PATTERN, normalise_model_name

Slot = Literal[
    "model_name",
    "version",
    "target_stage",
    "strategy",
    "traffic",
    "to_deployment_id",
    "undo_deployment_id",
    "replicas",
    "cpu",
    "memory",
    "autoscale",
]
Missing = Slot | Literal["command", "approval_id"]

MAX_COMMAND_CHARS = 2000
"""Longer text is refused with a Clarification rather than read."""

MODEL_NAME = QUALIFIED_NAME_PATTERN
"""The one model-name rule (``lifecycle.names``) with an optional ``tenant/`` in front
(``team-a/fraud``, ``lifecycle.tenants``), matched whole."""


def model_name(word: str) -> str:
    """A model name as said (``default/iris``) in its one stored form (``iris``)."""
    return normalise_model_name(word)


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STAGES = ", ".join(s.value for s in ModelStage)
STRATEGIES = ", ".join(s.value for s in StrategyName)

GRAMMAR_HELP = f"""\
I understand these commands ([brackets] are optional):
  promote MODEL vN to STAGE [because REASON]        also: advance, move
  deploy MODEL vN [as STRATEGY] [at N%]             also: release, ship
  rollback MODEL [to ID | --undo ID] [because REASON]  also: roll back, revert, undo
  approve ID [COMMENT]    reject ID [COMMENT]
  status [MODEL]                                    also: show, what's running
  history MODEL                                     also: show history of MODEL
  decisions MODEL               also: what did the monitor decide about MODEL
  help [COMMAND]                                    also: ?, what can you do
Versions: v2, version 2 or 2, a label (1.2.0 or v1.2.0) or latest.
Stages: {STAGES}. Strategies: {STRATEGIES}.
A deploy may ask for resources: N replicas, 0.5 cpu, 512Mi (memory), autoscale MIN:MAX.
Examples: "promote fraud_detector v2 to staging", "deploy fraud_detector v2 as canary at 10%",
"rollback fraud_detector because errors spiked", "approve 12 looks good"."""
"""The answer to ``help``: every command, its synonyms and an example of each kind."""

SYNONYMS: dict[Verb, str] = {
    "promote": "promote advance move",
    "deploy": "deploy release ship",
    "rollback": "rollback revert undo",
    "approve": "approve",
    "reject": "reject",
    "status": "status show",
    "history": "history",
    "help": "help",
    "decisions": "decisions",
}
VERBS: dict[str, Verb] = {w: verb for verb, words in SYNONYMS.items() for w in words.split()}
PHRASES: tuple[tuple[tuple[str, ...], Verb], ...] = (
    (("what", "can", "you", "do"), "help"),
    (("what", "is", "running"), "status"),
    (("what's", "running"), "status"),
    (("whats", "running"), "status"),
    (("show", "the", "history"), "history"),
    (("show", "history"), "history"),
    (("roll", "back"), "rollback"),
    (("what", "did", "the", "monitor", "decide"), "decisions"),
    (("what", "has", "the", "monitor", "decided"), "decisions"),
    (("show", "the", "monitor's", "decisions"), "decisions"),
    (("show", "the", "decisions"), "decisions"),
    (("show", "decisions"), "decisions"),
    (("monitor", "decisions"), "decisions"),
)
NOISE = words("of the a an model please to into as with using via at for on and traffic")
NOISE |= words("--to --model --traffic --strategy")
VERB_NOISE: dict[Verb, frozenset[str]] = {
    "deploy": frozenset({"strategy", "rollout", "deployment", "default"}),
    "rollback": words("its previous prior last stable deployment version one"),
    "status": words("status is running deployed all every models me what what's whats"),
    "history": frozenset({"history"}),
    "decisions": words("about decisions recent latest last its"),
}
ALLOWED: dict[Verb, frozenset[Slot]] = {
    "promote": frozenset({"model_name", "version", "target_stage"}),
    "deploy": frozenset(
        {"model_name", "version", "strategy", "traffic", "replicas", "cpu", "memory", "autoscale"}
    ),
    "rollback": frozenset({"model_name", "to_deployment_id", "undo_deployment_id"}),
    "status": frozenset({"model_name"}),
    "history": frozenset({"model_name"}),
    "decisions": frozenset({"model_name"}),
}
LABELS = {"model_name": "model", "target_stage": "stage", "to_deployment_id": "deployment"}
PERCENT = frozenset({"%", "percent", "pct"})
STAGE_ALIASES = {"dev": "development", "prod": "production"}
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
VERSION = re.compile(r"v?[0-9]+")
LABEL = re.compile(r"v?[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}")
"""A semantic version label as a word (``lifecycle.version_labels.parse_label`` judges it)."""
NAME = re.compile(MODEL_NAME)
LETTER = re.compile(r"[A-Za-z]")
APPROVAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
APPROVAL_NOISE = frozenset({"approval", "request", "id", "number", "no", "#", "the"})
REASON = re.compile(r"(?:^|\s)(?:because\b|reason\s*:|--reason\b=?)(.*)$", re.I | re.S)
COMMENT_LEAD = re.compile(
    r"^(?:because\b|(?:with\s+(?:the\s+)?)?comment\b\s*:?|reason\s*:|--(?:comment|reason)\b=?"
    r"|[-:,])\s*",
    re.I,
)
EDGE_PUNCT = "\"'`,;:()[]{}<>"
