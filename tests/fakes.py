"""Fakes of the ports, for unit tests of use cases and graph nodes (never for integrations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from lifecycle.capture import PredictionRecord, retention_cutoff
from lifecycle.errors import BadInputError, InfrastructureError, UnknownModelError
from lifecycle.ports import RegisteredVersion
from lifecycle.records import parse_version
from lifecycle.stages import ModelStage

STAGE_ALIASES = (ModelStage.STAGING, ModelStage.SHADOW, ModelStage.PRODUCTION)


class FakeRegistry:
    """An in-memory ModelRegistry; ``fail_on`` makes a named method raise, to test undo paths.

    Like MLflow's, it takes ``"2"`` or ``"v2"`` for a version, refuses a local folder without an
    ``MLmodel`` file, and deleting a version that is gone is harmless (tests/contract holds the
    two to the same rules).
    """

    def __init__(self) -> None:
        self.versions: dict[str, dict[str, RegisteredVersion]] = {}
        self.alias_table: dict[str, dict[str, str]] = {}
        self.fail_on: set[str] = set()

    def register(
        self,
        model_name: str,
        model_uri: str,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        parent_version: str | None = None,
        label: str | None = None,
    ) -> RegisteredVersion:
        if "register" in self.fail_on or not _names_a_model(model_uri):
            raise BadInputError(f"no MLflow model at {model_uri!r}")
        versions = self.versions.setdefault(model_name, {})
        number = str(max((int(v) for v in versions), default=0) + 1)
        version = RegisteredVersion(
            model_name,
            number,
            ModelStage.DEVELOPMENT,
            model_uri,
            run_id=f"run-{number}",
            experiment_id="0",
            parent_version=parent_version,
            metrics=dict(metrics or {}),
            params=dict(params or {}),
            label=label or None,
        )
        versions[number] = version
        return version

    def get_version(self, model_name: str, version: str) -> RegisteredVersion:
        version = parse_version(version)
        try:
            return self.versions[model_name][version]
        except KeyError:
            raise UnknownModelError(f"{model_name} v{version} is not registered") from None

    def list_versions(
        self, model_name: str, stage: ModelStage | None = None
    ) -> Sequence[RegisteredVersion]:
        found = self.versions.get(model_name, {}).values()
        return [v for v in found if stage is None or v.stage is stage]

    def set_stage(self, model_name: str, version: str, stage: ModelStage) -> RegisteredVersion:
        old = self.get_version(model_name, version)
        new = dataclasses.replace(old, stage=stage)
        self.versions[model_name][old.version] = new
        aliases = self.alias_table.setdefault(model_name, {})
        for named in STAGE_ALIASES:  # as MLflow's adapter: the stage's alias, on one version
            if named is not stage and aliases.get(named.value) == old.version:
                del aliases[named.value]
        if stage in STAGE_ALIASES:
            aliases[stage.value] = old.version
        return new

    def list_model_names(self) -> Sequence[str]:
        return sorted(name for name, versions in self.versions.items() if versions)

    def delete_version(self, model_name: str, version: str) -> None:
        self.versions.get(model_name, {}).pop(parse_version(version), None)

    def set_label(self, model_name: str, version: str, label: str | None) -> None:
        if "set_label" in self.fail_on:
            raise InfrastructureError("the registry is unreachable")
        old = self.get_version(model_name, version)
        self.versions[model_name][old.version] = dataclasses.replace(old, label=label or None)

    def aliases(self, model_name: str) -> Mapping[str, str]:
        return dict(self.alias_table.get(model_name, {})) if model_name in self.versions else {}

    def aliases_of(self, model_names: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        return {name: self.aliases(name) for name in model_names}

    def move_aliases(self, model_name: str, moves: Mapping[str, str | None]) -> None:
        if "move_aliases" in self.fail_on:
            raise InfrastructureError("the registry is unreachable")
        aliases = self.alias_table.setdefault(model_name, {})
        for alias, version in moves.items():
            if version is None:
                aliases.pop(alias, None)
            else:
                aliases[alias] = self.get_version(model_name, version).version


def _names_a_model(uri: str) -> bool:
    """A URI the registry resolves, or a local folder holding an MLflow model."""
    if uri.startswith(("runs:/", "models:/")) or "://" in uri:
        return True
    return bool(uri) and (Path(uri).expanduser() / "MLmodel").is_file()


class FakeCaptureStore:
    """An in-memory capture store (``mlops.gateway.capture.CaptureStore``): percents in a
    dict, rows by request id (a stored id is skipped, as the database's unique key does);
    ``failures`` makes the next that many ``store`` calls raise (tests/contract holds it and
    ``database.capture.DbCaptureStore`` to the same rules)."""

    def __init__(self) -> None:
        self.settings: dict[str, float] = {}
        self.rows: dict[str, PredictionRecord] = {}
        self.failures = 0
        self.calls = 0

    def set_percent(self, model_name: str, percent: float) -> None:
        self.settings[model_name] = percent

    def percents(self) -> Mapping[str, float]:
        return {name: p for name, p in self.settings.items() if p > 0}

    def store(self, rows: Sequence[PredictionRecord]) -> int:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the capture store refused the batch")
        new = 0
        for row in rows:
            if row.request_id not in self.rows:
                self.rows[row.request_id] = row
                new += 1
        return new

    def apply_retention(self, now: datetime, max_age_seconds: float, max_rows: int) -> int:
        cutoff = retention_cutoff(now, max_age_seconds)
        before = len(self.rows)
        kept = {k: r for k, r in self.rows.items() if r.captured_at >= cutoff}
        newest = sorted(kept.items(), key=lambda kv: (kv[1].captured_at, kv[0]), reverse=True)
        by_model: dict[str, list[str]] = {}
        for rid, row in newest:
            by_model.setdefault(row.model_name, []).append(rid)
        self.rows = {rid: kept[rid] for ids in by_model.values() for rid in ids[:max_rows]}
        return before - len(self.rows)
