"""Choosing a deployment for each request: weights, sticky keys, and the mirror share.

Three rules, each chosen so that a test can hold the gateway to an exact figure:

- Requests without a routing key use *smooth weighted round-robin* (nginx's algorithm): over any
  100 consecutive requests each deployment gets its weight, give or take one request. There is no
  sampling noise to allow for.
- Requests with an ``X-Routing-Key`` use *weighted rendezvous hashing*: every deployment scores
  the key, and the best score wins. The same key lands on the same deployment while the weights
  stay the same, and when they change only the keys whose best score changed move: the least a
  weighted scheme can move.
- The mirror share uses an error-diffusion counter: after ``n`` requests exactly
  ``floor(n * percent / 100)`` have been mirrored.

A :class:`CompiledRoute` is immutable apart from these counters; the gateway swaps whole
snapshots, so a request sees the old table or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from lifecycle.ports import Routes
from lifecycle.routing import stable_of

_TWO_64 = float(2**64)


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where a deployment answers, and which version it serves."""

    deployment_id: str
    url: str
    model_version: str


def key_score(key: str, deployment_id: str, weight: float) -> float:
    """The weighted rendezvous score of ``key`` on one deployment (higher wins)."""
    digest = hashlib.blake2b(f"{deployment_id}\x00{key}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / _TWO_64  # uniform in (0, 1)
    return -weight / math.log(unit)


@dataclass(slots=True)
class CompiledRoute:
    """One model's routing table, ready to pick deployments fast."""

    routes: Routes
    upstreams: dict[str, Upstream]
    revision: int = 0
    stable: str = ""
    _ids: tuple[str, ...] = ()
    _weights: tuple[float, ...] = ()
    _current: list[float] = field(default_factory=list)
    _mirrored: int = 0
    _seen: int = 0

    def __post_init__(self) -> None:
        live = [(d, w) for d, w in self.routes.weights.items() if w > 0]
        self._ids = tuple(d for d, _ in live)
        self._weights = tuple(w for _, w in live)
        self._current = [0.0] * len(live)
        self.stable = stable_of(self.routes) if live else ""

    def pick(self, key: str | None = None) -> str:
        """The deployment for one request (sticky when ``key`` is given)."""
        if key:
            best, best_score = self._ids[0], -1.0
            for deployment_id, weight in zip(self._ids, self._weights, strict=True):
                score = key_score(key, deployment_id, weight)
                if score > best_score:
                    best, best_score = deployment_id, score
            return best
        if len(self._ids) == 1:
            return self._ids[0]
        current = self._current
        best_index = 0
        for index, weight in enumerate(self._weights):
            current[index] += weight
            if current[index] > current[best_index]:
                best_index = index
        current[best_index] -= 100.0
        return self._ids[best_index]

    def mirror(self) -> str | None:
        """The shadow deployment if this request is one to mirror, else None."""
        shadow = self.routes.shadow_deployment_id
        percent = self.routes.shadow_percent
        if shadow is None or percent <= 0:
            return None
        self._seen += 1
        due = math.floor(self._seen * percent / 100.0 + 1e-9)
        if due > self._mirrored:
            self._mirrored = due
            return shadow
        return None

    @property
    def named(self) -> set[str]:
        """Every deployment the table sends traffic or mirrors to."""
        shadow = self.routes.shadow_deployment_id
        return {*self.routes.weights, *([shadow] if shadow else [])}

    def effective_weights(self) -> dict[str, float]:
        """The weights this table serves (what ``verify`` reports)."""
        return dict(zip(self._ids, self._weights, strict=True))
