"""The values ``deployer k8s render`` renders from: ``values.yaml`` beside this module (the
documented defaults) with a person's ``--values FILE`` laid over it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from lifecycle.k8s_values import InvalidValuesError, check_values, merge_values


def default_values() -> dict[str, Any]:
    """The shipped defaults (``agents/k8s/values.yaml``)."""
    text = resources.files("agents.k8s").joinpath("values.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def load_values(path: Path | None) -> dict[str, Any]:
    """The defaults merged with ``path`` (InvalidValuesError for a file that cannot be read or
    parsed, an unknown key or a value of the wrong type)."""
    defaults = default_values()
    if path is None:
        return defaults
    try:
        given = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidValuesError(f"cannot read the values file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise InvalidValuesError(f"the values file {path} is not valid YAML{line}") from None
    return merge_values(defaults, given)


SECRET_SETTINGS = frozenset(
    {"DEPLOYER_DATABASE_URL", "DEPLOYER_GATEWAY_TOKEN", "DEPLOYER_AUDIT_KEY"}
)
"""Settings that go in the Secret, never in the ConfigMap."""


def setting_names() -> frozenset[str]:
    """Every environment variable ``Settings`` reads (its fields' aliases)."""
    from agents.settings import Settings

    aliases = (f.validation_alias for f in Settings.model_fields.values())
    return frozenset(a for a in aliases if isinstance(a, str))


def checked_values(path: Path | None) -> dict[str, Any]:
    """The values to render: merged, judged (``check_values``), extra settings known."""
    values = load_values(path)
    check_values(values)
    known = setting_names()
    for name, value in values["settings"]["extra"].items():
        if name in SECRET_SETTINGS:
            raise InvalidValuesError(
                f"{name} is a secret: give it under secrets, not settings.extra"
            )
        if name not in known:
            raise InvalidValuesError(f"settings.extra names {name}, which is not a setting")
        if isinstance(value, dict | list) or value is None:
            raise InvalidValuesError(f"settings.extra.{name} must be a string or a number")
    return values
