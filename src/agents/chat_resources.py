"""The chat's words for a deploy's resources (issue 17): ``with 2 replicas``, ``0.5 cpu``,
``512Mi`` (or ``memory 512Mi``), ``autoscale 1:4``. Only the shape is read here; the figures
are judged by ``lifecycle.resource_asks`` when the command is carried out, as on every path."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agents.chat_vocabulary import Slot

REPLICA_WORDS = frozenset({"replica", "replicas", "worker", "workers", "--replicas"})
CPU_WORDS = frozenset({"cpu", "cpus", "core", "cores", "--cpu"})
MEMORY_WORDS = frozenset({"memory", "mem", "ram", "--memory"})
AUTOSCALE_WORDS = frozenset({"autoscale", "autoscaling", "--autoscale"})
COUNT = re.compile(r"[0-9]{1,3}")
CPU = re.compile(r"[0-9]+(?:\.[0-9]+)?m?")
SIZE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:k|M|G|T|Ki|Mi|Gi|Ti)")
"""A memory size with its unit (a bare number is a version, as everywhere in the chat)."""
ANY_SIZE = re.compile(r"[0-9][0-9A-Za-z.]*")
SCALE = re.compile(r"[0-9]+:[0-9]+(?::[0-9]+(?:\.[0-9]+)?)?")


def resource_piece(texts: Sequence[str], i: int) -> tuple[Slot, str, int] | None:
    """The resource slot starting at ``texts[i]`` (its name, value and the index past it)."""
    low = texts[i].lower()
    after = texts[i + 1] if i + 1 < len(texts) else ""
    if COUNT.fullmatch(low) and after.lower() in REPLICA_WORDS:
        return "replicas", low, i + 2
    if CPU.fullmatch(low) and after.lower() in CPU_WORDS:
        return "cpu", low, i + 2
    if SIZE.fullmatch(texts[i]):
        return "memory", texts[i], i + (2 if after.lower() in MEMORY_WORDS else 1)
    slots: tuple[tuple[frozenset[str], re.Pattern[str], Slot], ...] = (
        (REPLICA_WORDS, COUNT, "replicas"),
        (CPU_WORDS, CPU, "cpu"),
        (MEMORY_WORDS, ANY_SIZE, "memory"),
        (AUTOSCALE_WORDS, SCALE, "autoscale"),
    )
    for words, shape, slot in slots:
        if low in words and shape.fullmatch(after):
            return slot, after, i + 2
    return None


def resource_fields(found: Mapping[Slot, Sequence[str]]) -> dict[str, Any]:
    """``Deploy``'s resource fields from the slots the chat found."""
    fields: dict[str, Any] = {k: found[k][0] for k in ("cpu", "memory", "autoscale") if k in found}
    if "replicas" in found:
        fields["replicas"] = int(found["replicas"][0])
    return fields
