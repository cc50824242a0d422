"""Operator chat commands, read deterministically into typed requests or a clarifying question.

``parse`` never guesses and never raises: a command that is ambiguous, incomplete or unknown
comes back as a :class:`Clarification` that says what is missing. Each request maps 1:1 to a CLI
command (DESIGN.md section 6). Keywords are case-insensitive, model names keep their case,
trailing ``.``/``?``/``!`` and extra spaces are ignored. Pieces in braces may come in any order::

    command  = ["please"] (promote | deploy | rollback | approve | reject | status | history | help)
    promote  = ("promote" | "advance" | "move") {model | version | ["to" | "into"] stage} [reason]
    deploy   = ("deploy" | "release" | "ship") {model | version | strategy | traffic | resource}
    resource = N "replicas" | C "cpu" | SIZE ["memory"] | "autoscale" MIN:MAX[:T]  (512Mi, 0.5)
    rollback = ("rollback" | "roll back" | "revert" | "undo")
               {model | ("to" | "--to" | "--undo") ["deployment"] deployment_id} [reason]
    approve  = "approve" ["approval" | "id" | "#"] approval_id [comment]
    reject   = "reject" ["approval" | "id" | "#"] approval_id [comment]
    status   = ("status" | "show" | "what is running" | "what's running") [["for" | "of"] model]
    history  = ("history" | "show history") ["of"] model
    decisions = ("decisions" | "show [the] decisions" | "monitor decisions"
               | "what did the monitor decide" | "what has the monitor decided") ["about"] model
    help     = ("help" [command word] | "?" | "what can you do")
    version  = ["version" | "--version"] ["v"] N          (N = digits: v2, V2, version 2, 2)
               | ["version"] ["v"] MAJOR.MINOR.PATCH | "latest"   (a label: 1.2.0, v1.2.0)
    stage    = development | staging | shadow | production | archived | "dev" | "prod"
    strategy = ["as" | "with" | "using" | "via" | "--strategy"]
               (direct | rolling | canary | shadow | blue_green | "blue-green" | "bluegreen"
               | "blue green") ["strategy" | "rollout" | "deployment"]
    traffic  = P "%" | P ("percent" | "pct") | ("at" | "traffic" | "--traffic") P ["%"]
                                                           (P = a number from 0 to 100)
    reason   = ("because" | "reason:" | "--reason") text
    comment  = ["because" | "comment:" | "--comment" | "with the comment:"] text
    model    = (letter | digit) {letter | digit | "_" | "-" | "."}   (with a letter; not a version)

Filler words (of, the, to, as, with, at, for, on, model, please, ...) are skipped. A bare number
is a version; it is a traffic share only with ``%``, ``percent`` or after ``at``/``traffic``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from agents import chat_vocabulary as v
from agents.chat_resources import resource_fields, resource_piece
from agents.chat_vocabulary import GRAMMAR_HELP, MAX_COMMAND_CHARS, Missing, Slot
from agents.commands import (
    Approve,
    Decisions,
    Deploy,
    Help,
    History,
    Promote,
    Reject,
    Rollback,
    Status,
    Verb,
    named_version,
)
from agents.commands import Command as ChatCommand
from lifecycle.errors import InvalidPlanError, InvalidPromotionPathError
from lifecycle.stages import ModelStage, parse_stage
from lifecycle.strategies import StrategyName, parse_strategy
from lifecycle.version_labels import LATEST, parse_label

__all__ = ["GRAMMAR_HELP", "MAX_COMMAND_CHARS", "ChatCommand", "Clarification", "parse"]


class Clarification(BaseModel):
    """A question back to the operator; ``partial`` holds what was understood so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["clarification"] = "clarification"
    question: str
    missing: Missing
    partial: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # as typed, minus quotes and brackets around it
    low: str
    end: int  # offset just past the token in the text it was read from


_Found: TypeAlias = dict[Slot, list[str]]
_Partial: TypeAlias = dict[str, str]
_Reply: TypeAlias = ChatCommand | Clarification


def parse(text: str, known_models: Collection[str] | None = None) -> ChatCommand | Clarification:
    """Read one operator command; when ``known_models`` is given, other model names are refused."""
    if len(text) > MAX_COMMAND_CHARS:
        return _clarify("command", "That is too long for a command. Say 'help' to see examples.")
    if text.strip() and not text.strip().strip("?"):
        return Help()
    normalised = " ".join(text.replace("\u2019", "'").split()).rstrip(".?! ")
    tokens = _tokens(normalised)
    found = _find_verb(tokens)
    if found is None:
        if not tokens:
            return _clarify("command", "What should I do? Say 'help' to see what I understand.")
        word = _clip(tokens[0].text)
        return _clarify("command", f"I did not understand {word!r}. Say 'help' to see commands.")
    verb, consumed = found
    rest = normalised[tokens[consumed - 1].end :]
    if verb == "help":
        topic = _find_verb(_tokens(rest))
        return Help(topic=topic[0] if topic else None)
    if verb in ("approve", "reject"):
        return _parse_decision(verb, rest)
    return _parse_slots(verb, rest, known_models)


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in re.finditer(r"\S+", text):
        cleaned = match.group().strip(v.EDGE_PUNCT)
        if cleaned:
            tokens.append(_Token(cleaned, cleaned.lower(), match.end()))
    return tokens


def _find_verb(tokens: Sequence[_Token]) -> tuple[Verb, int] | None:
    """The command word(s) at the start and how many tokens they take."""
    start = 1 if tokens and tokens[0].low == "please" else 0
    words = tuple(t.low for t in tokens[start : start + 5])
    for phrase, verb in v.PHRASES:
        if words[: len(phrase)] == phrase:
            return verb, start + len(phrase)
    single = v.VERBS.get(words[0]) if words else None
    return (single, start + 1) if single else None


def _parse_decision(verb: Literal["approve", "reject"], rest: str) -> _Reply:
    tokens = _tokens(rest)
    i = 0
    while i < len(tokens) and tokens[i].low in v.APPROVAL_NOISE:
        i += 1
    approval_id = tokens[i].text.lstrip("#") if i < len(tokens) else ""
    if not _is_approval_id(approval_id):
        question = f"Which approval should I {verb}? Give its id, for example '{verb} 12'."
        return _clarify("approval_id", question, {"kind": verb})
    comment = v.COMMENT_LEAD.sub("", rest[tokens[i].end :].strip(), count=1).strip() or None
    if verb == "approve":
        return Approve(approval_id=approval_id, comment=comment)
    return Reject(approval_id=approval_id, comment=comment)


def _is_approval_id(token: str) -> bool:
    """Digits, or a uuid/hex-like word: a digit somewhere, or eight or more hex characters."""
    if not v.APPROVAL_ID.fullmatch(token):
        return False
    return any(c.isdigit() for c in token) or bool(re.fullmatch(r"[0-9a-fA-F]{8,}", token))


def _parse_slots(verb: Verb, rest: str, known: Collection[str] | None) -> _Reply:
    reason: str | None = None
    match = v.REASON.search(rest) if verb in ("promote", "rollback") else None
    if match:
        rest, reason = rest[: match.start()], match.group(1).strip().strip("\"'") or None
    found, unexpected = _scan(_tokens(rest), verb)
    partial: _Partial = {"kind": verb} | {slot: values[0] for slot, values in found.items()}
    if reason:
        partial["reason"] = reason
    if unexpected:
        words = ", ".join(repr(_clip(w)) for w in unexpected)
        question = f"I did not understand {words} in that {verb} command. Try 'help {verb}'."
        question += f" Stages are: {v.STAGES}." if verb == "promote" else ""
        return _clarify("command", question, partial)
    for slot, values in found.items():
        if len(set(values)) > 1:
            choices = " or ".join(dict.fromkeys(_shown(slot, v) for v in values))
            question = f"Which {v.LABELS.get(slot, slot)} did you mean: {choices}?"
            return _clarify(slot, question, _without(partial, slot))
    model = _first(found, "model_name")
    if model is not None and known is not None and model not in known:
        return _unknown_model(model, known, _without(partial, "model_name"))
    return _BUILDERS[verb](found, reason, partial)


def _scan(tokens: Sequence[_Token], verb: Verb) -> tuple[_Found, list[str]]:
    """Sort the tokens into the verb's slots; whatever fits no slot is returned as unexpected."""
    found: _Found = {}
    unexpected: list[str] = []
    i = 0
    while i < len(tokens):
        slot, value, after = _read_piece(tokens, i, verb)
        if slot == "noise":
            pass
        elif slot in v.ALLOWED[verb] and not (slot == "model_name" and "model_name" in found):
            found.setdefault(slot, []).append(value)
        else:
            unexpected.append(" ".join(t.text for t in tokens[i:after]))
        i = after
    return found, unexpected


def _read_piece(
    tokens: Sequence[_Token], i: int, verb: Verb
) -> tuple[Slot | Literal["noise", "other"], str, int]:
    """The piece starting at ``tokens[i]``: its slot, its value and the index just past it."""
    low = tokens[i].low
    after = tokens[i + 1].low if i + 1 < len(tokens) else ""
    if verb == "deploy" and (piece := resource_piece([t.text for t in tokens], i)):
        return piece
    if verb == "rollback" and low in ("to", "--to"):
        target = _deployment_after(tokens, i + 1)
        if target is not None:
            return "to_deployment_id", tokens[target].text, target + 1
    if verb == "rollback" and low == "--undo":
        target = _deployment_after(tokens, i + 1)
        if target is not None:
            return "undo_deployment_id", tokens[target].text, target + 1
    if low in ("v", "version", "--version") and (
        v.VERSION.fullmatch(after) or v.LABEL.fullmatch(after)
    ):
        return "version", _version(after), i + 2
    if low in ("at", "traffic", "--traffic") and v.NUMBER.fullmatch(after.rstrip("%")):
        return _traffic(tokens, i + 1)
    if v.NUMBER.fullmatch(low.rstrip("%")) and (low.endswith("%") or after in v.PERCENT):
        return _traffic(tokens, i)
    if v.VERSION.fullmatch(low) or v.LABEL.fullmatch(low):
        return "version", _version(low), i + 1
    if low == LATEST and "version" in v.ALLOWED[verb]:  # "the latest version" reads as latest
        return "version", LATEST, i + (2 if after == "version" else 1)
    if low == "blue" and after == "green":
        return "strategy", StrategyName.BLUE_GREEN.value, i + 2
    stage, strategy = _stage(low), _strategy(low)
    if strategy is not None and (verb == "deploy" or stage is None):
        return "strategy", strategy.value, i + 1
    if stage is not None:
        return "target_stage", stage.value, i + 1
    if low in v.NOISE or low in v.VERB_NOISE.get(verb, ()):
        return "noise", "", i + 1
    if _is_name(tokens[i].text):
        return "model_name", v.model_name(tokens[i].text), i + 1
    return "other", tokens[i].text, i + 1


def _traffic(tokens: Sequence[_Token], i: int) -> tuple[Slot, str, int]:
    value = tokens[i].low.rstrip("%")
    after = i + 1
    if after < len(tokens) and tokens[after].low in v.PERCENT:
        after += 1
    return "traffic", value, after


def _deployment_after(tokens: Sequence[_Token], j: int) -> int | None:
    """The index of the deployment id in ``to [deployment] ID``, if one follows."""
    if j + 1 < len(tokens) and tokens[j].low == "deployment":
        j += 1
    if j >= len(tokens):
        return None
    low = tokens[j].low
    filler = low in v.NOISE or low in v.VERB_NOISE["rollback"]
    if filler or v.VERSION.fullmatch(low) or _stage(low) is not None:
        return None
    return j if _is_name(tokens[j].text) else None


def _promote(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    model, version = _first(found, "model_name"), _first(found, "version")
    stage = _first(found, "target_stage")
    to = f" to {stage}" if stage else ""
    if model is None:
        which = f"model's v{version}" if version else "model"
        return _clarify("model_name", f"Which {which} should I promote{to}?", partial)
    if version is None:
        return _clarify("version", f"Which version of {model} should I promote{to}?", partial)
    if stage is None:
        question = f"Which stage should I promote v{version} of {model} to ({v.STAGES})?"
        return _clarify("target_stage", question, partial)
    return Promote(model_name=model, version=version, target_stage=ModelStage(stage), reason=reason)


def _deploy(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    model, version = _first(found, "model_name"), _first(found, "version")
    strategy, traffic = _first(found, "strategy"), _first(found, "traffic")
    if traffic is not None and not 0.0 <= float(traffic) <= 100.0:
        question = f"Traffic must be between 0 and 100%, not {traffic}%. What share should it get?"
        return _clarify("traffic", question, _without(partial, "traffic"))
    if model is None:
        which = f"model's v{version}" if version else "model"
        return _clarify("model_name", f"Which {which} should I deploy?", partial)
    if version is None:
        return _clarify("version", f"Which version of {model} should I deploy?", partial)
    return Deploy(
        model_name=model,
        version=version,
        strategy=StrategyName(strategy) if strategy else None,
        traffic=float(traffic) if traffic is not None else None,
        **resource_fields(found),
    )


def _rollback(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    model = _first(found, "model_name")
    if model is None:
        return _clarify("model_name", "Which model should I roll back?", partial)
    return Rollback(
        model_name=model,
        to_deployment_id=_first(found, "to_deployment_id"),
        undo_deployment_id=_first(found, "undo_deployment_id"),
        reason=reason,
    )


def _status(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    return Status(model_name=_first(found, "model_name"))


def _history(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    model = _first(found, "model_name")
    if model is None:
        return _clarify("model_name", "Which model's history should I show?", partial)
    return History(model_name=model)


def _decisions(found: _Found, reason: str | None, partial: _Partial) -> _Reply:
    model = _first(found, "model_name")
    if model is None:
        return _clarify("model_name", "Which model's monitor decisions should I show?", partial)
    return Decisions(model_name=model)


_BUILDERS: dict[Verb, Callable[[_Found, str | None, _Partial], _Reply]] = {
    "promote": _promote,
    "deploy": _deploy,
    "rollback": _rollback,
    "status": _status,
    "history": _history,
    "decisions": _decisions,
}


def _unknown_model(model: str, known: Collection[str], partial: _Partial) -> Clarification:
    """Name the unknown model; offer up to five close matches, then names it begins, any case."""
    by_lower: dict[str, list[str]] = {}
    for name in known:
        by_lower.setdefault(name.lower(), []).append(name)
    close = difflib.get_close_matches(model.lower(), list(by_lower), n=5)
    close += sorted(k for k in by_lower if k.startswith(model.lower()) and k not in close)
    matches = [name for key in close for name in sorted(by_lower[key])][:5]
    if matches:
        offer = matches[0] if len(matches) == 1 else ", ".join(matches[:-1]) + f" or {matches[-1]}"
        question = f"I don't know a model called {model!r}. Did you mean {offer}?"
    else:
        question = f"I don't know a model called {model!r}. Which model did you mean?"
    return _clarify("model_name", question, partial)


def _clarify(missing: Missing, question: str, partial: _Partial | None = None) -> Clarification:
    return Clarification(question=question, missing=missing, partial=partial or {})


def _stage(word: str) -> ModelStage | None:
    try:
        return parse_stage(v.STAGE_ALIASES.get(word, word))
    except InvalidPromotionPathError:
        return None


def _strategy(word: str) -> StrategyName | None:
    try:
        return parse_strategy("blue_green" if word == "bluegreen" else word)
    except InvalidPlanError:
        return None


def _version(word: str) -> str:
    if v.LABEL.fullmatch(word):
        return str(parse_label(word))
    return word.lstrip("v").lstrip("0") or "0"


def _is_name(word: str) -> bool:
    return bool(v.NAME.fullmatch(word) and v.LETTER.search(word))


def _first(found: _Found, slot: Slot) -> str | None:
    values = found.get(slot)
    return values[0] if values else None


def _without(partial: _Partial, key: str) -> _Partial:
    return {k: v for k, v in partial.items() if k != key}


def _shown(slot: Slot, value: str) -> str:
    return {"version": named_version(value), "traffic": f"{value}%"}.get(slot, value)


def _clip(word: str, limit: int = 40) -> str:
    return word if len(word) <= limit else word[:limit] + "..."
