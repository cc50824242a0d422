"""Which versions serve users now, as MLflow aliases (issue 15): ``@champion`` and
``@challenger``.

The stage aliases (``@staging``, ``@shadow``, ``@production``) name what was approved and move
at promotion; these two name what users get, and move with the routing table. During a 10%
canary of v4 over v3, ``@production`` is already v4 (approved) while ``@champion`` is v3 (90% of
the traffic, and the stable deployment that failures are retried on) and ``@challenger`` v4.
"""

from __future__ import annotations

from collections.abc import Mapping

from lifecycle.ports import Routes

CHAMPION = "champion"
"""The stable deployment's version: all users' traffic, or the baseline of a canary."""
CHALLENGER = "challenger"
"""A canary's version (the largest share that is not the champion's), else a shadow's."""
SERVING_ALIASES = (CHAMPION, CHALLENGER)


def aliases_for(routes: Routes | None, versions: Mapping[str, str]) -> dict[str, str | None]:
    """``{"champion": v | None, "challenger": v | None}`` for a model's routing table.

    ``versions`` maps deployment ids to version numbers; a deployment it does not know is
    ignored (it cannot be named). No table, or no weighted deployment: no champion. A challenger
    that serves the champion's own version (a redeploy) is not a challenger."""
    if routes is None:
        return {CHAMPION: None, CHALLENGER: None}
    weighted = {d: w for d, w in routes.weights.items() if w > 0 and d in versions}
    stable = routes.stable_deployment_id
    if stable not in weighted:
        stable = max(sorted(weighted), key=lambda d: weighted[d], default=None)
    champion = versions[stable] if stable is not None else None
    others = [d for d in sorted(weighted) if versions[d] != champion]
    candidates = sorted(others, key=lambda d: weighted[d], reverse=True)
    shadow = routes.shadow_deployment_id
    if not candidates and shadow is not None and shadow in versions and routes.shadow_percent > 0:
        candidates = [shadow] if versions[shadow] != champion else []
    challenger = versions[candidates[0]] if candidates else None
    return {CHAMPION: champion, CHALLENGER: challenger}


def alias_moves(
    wanted: Mapping[str, str | None], current: Mapping[str, str]
) -> dict[str, str | None]:
    """What to change so the serving aliases read ``wanted`` (None: remove); nothing when they
    already do, so a tick that repeats the move writes nothing to the registry."""
    return {
        alias: version
        for alias, version in wanted.items()
        if alias in SERVING_ALIASES and current.get(alias) != version
    }
