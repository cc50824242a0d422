"""Use cases that keep the registry and the state database in step: register and sync.

The registry (MLflow) owns versions, stages and metrics; the ``ml_model_registry`` table mirrors
them for queries, joins and history. Registering writes both in one logical step: if the
database write fails, the new registry version is deleted again, so neither side holds a version
the other does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.commands import Register
from agents.ports import Services
from database.models import ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import BadInputError
from lifecycle.gates import parse_criterion
from lifecycle.metrics import finite_metrics
from lifecycle.names import check_distinct, check_model_name
from lifecycle.ports import ModelRegistry, RegisteredVersion
from lifecycle.records import model_version_id, parse_version, utcnow

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


def parse_metrics(pairs: Sequence[str]) -> dict[str, float]:
    """Read ``K=V`` pairs typed on the command line into numbers."""
    metrics: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            metrics[key.strip()] = float(value)
        except ValueError:
            message = f"cannot read metric {pair!r}; write it like accuracy=0.93"
            raise BadInputError(message) from None
    return metrics


def register(c: Services, command: Register, actor: str) -> dict[str, Any]:
    """Carry out ``Register`` for ``actor`` (the CLI's ``deployer register``, the API's POST of a
    version): the version in the registry and the state database, or in neither."""
    return register_version(
        c.uow,
        c.registry,
        command.model_name,
        command.model_uri,
        actor,
        metrics=command.metrics,
        criteria=command.criteria,
    )


def register_version(
    uow_factory: UowFactory,
    registry: ModelRegistry,
    model_name: str,
    model_uri: str,
    actor: str,
    metrics: Mapping[str, float] | None = None,
    criteria: Sequence[str] = (),
) -> dict[str, Any]:
    """Register a model version in the registry and the state database, or in neither."""
    check_model_name(model_name)
    parsed = [str(parse_criterion(c)) for c in criteria]  # refuse bad input before any write
    metrics = finite_metrics(metrics or {})  # NaN/inf would pass gates and break PostgreSQL
    with uow_factory() as uow:  # a name that reads like another model's is refused, too
        known = {*uow.models.list_model_names(), *registry.list_model_names()}
    check_distinct(model_name, known)
    registered = registry.register(model_name, model_uri, metrics=metrics)
    try:
        finite_metrics(registered.metrics)  # the training run's own may be NaN too
        with uow_factory() as uow:
            check_distinct(model_name, uow.models.list_model_names())  # one registered meanwhile
            row = uow.models.add(_row_for(registered, parsed))
            uow.audit.append(
                actor,
                "registered",
                row.model_version_id,
                {"model_uri": model_uri, "metrics": dict(registered.metrics), "criteria": parsed},
            )
            uow.commit()
    except BaseException:
        registry.delete_version(model_name, registered.version)
        raise
    return describe(registered, parsed)


def _row_for(version: RegisteredVersion, criteria: Sequence[str]) -> ModelVersionRow:
    return ModelVersionRow(
        model_version_id=model_version_id(version.model_name, version.version),
        model_name=version.model_name,
        version=version.version,
        stage=version.stage.value,
        metrics=dict(version.metrics),
        params=dict(version.params),
        success_criteria={"criteria": list(criteria)},
        artifact_uri=version.source_uri,
        preprocessing_uri=version.preprocessing_uri,
        run_id=version.run_id,
        experiment_id=version.experiment_id,
        parent_version=version.parent_version,
    )


def describe(version: RegisteredVersion, criteria: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON the CLI prints for a registered version."""
    return {
        "model_name": version.model_name,
        "version": version.version,
        "model_version_id": model_version_id(version.model_name, version.version),
        "stage": version.stage.value,
        "source_uri": version.source_uri,
        "run_id": version.run_id,
        "experiment_id": version.experiment_id,
        "metrics": dict(version.metrics),
        "params": dict(version.params),
        "criteria": list(criteria),
    }


@dataclass
class SyncReport:
    """What a sync changed or found; a second sync of an unchanged registry reports nothing."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    missing_in_registry: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)
    """Registry model names not taken in (malformed, or reading like a known model's), each as
    one line saying why."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "missing_in_registry": self.missing_in_registry,
            "unchanged": self.unchanged,
            "refused": self.refused,
        }


def sync_registry(uow_factory: UowFactory, registry: ModelRegistry, actor: str) -> SyncReport:
    """Reconcile the state database with the registry, idempotently.

    Versions only in the registry are added; stage and metrics drift is taken from the registry;
    versions only in the database are reported (and kept, with their history), never dropped.
    """
    report = SyncReport()
    with uow_factory() as uow:
        known = {r.model_version_id: r for r in uow.models.list()}
        seen: set[str] = set()
        names = {r.model_name for r in known.values()}
        for name in registry.list_model_names():
            if not _admissible(name, names, report):
                continue
            for version in registry.list_versions(name):
                key = model_version_id(version.model_name, version.version)
                seen.add(key)
                _reconcile(uow, known.get(key), version, report, actor)
        report.missing_in_registry = sorted(set(known) - seen)
        for key in report.missing_in_registry:
            uow.audit.append(actor, "sync_missing_in_registry", key, {})
        uow.commit()
    return report


def _admissible(name: str, names: set[str], report: SyncReport) -> bool:
    """Whether sync may take in the registry's model ``name``: a valid name that reads like no
    other known model's (the rules of register). A refused name is reported (nothing written:
    the next sync reports it again), and ``names`` grows by each admitted one."""
    try:
        check_distinct(check_model_name(name), names)
    except BadInputError as exc:
        report.refused.append(exc.message)
        return False
    names.add(name)
    return True


def _reconcile(
    uow: SqlAlchemyUnitOfWork,
    row: ModelVersionRow | None,
    version: RegisteredVersion,
    report: SyncReport,
    actor: str,
) -> None:
    key = model_version_id(version.model_name, version.version)
    if row is None:
        uow.models.add(_row_for(version, ()))
        uow.audit.append(actor, "sync_added", key, {"stage": version.stage.value})
        report.added.append(key)
        return
    drift: dict[str, Any] = {}
    if row.stage != version.stage.value:
        drift["stage"] = [row.stage, version.stage.value]
        row.stage, row.stage_changed_at = version.stage.value, utcnow()
    if dict(version.metrics) and row.metrics != dict(version.metrics):
        drift["metrics"] = [row.metrics, dict(version.metrics)]
        row.metrics = dict(version.metrics)
    if drift:
        uow.audit.append(actor, "sync_updated", key, drift)
        report.updated.append(key)
    else:
        report.unchanged += 1


def set_criteria(
    uow_factory: UowFactory,
    model_name: str,
    version: str,
    criteria: Sequence[str],
    metrics: Mapping[str, float],
    actor: str,
) -> dict[str, Any]:
    """Replace a version's success criteria (and add metrics), audited; bad input changes
    nothing."""

    number = parse_version(version)
    parsed = [str(parse_criterion(c)) for c in criteria]
    if not parsed:
        raise BadInputError("give at least one criterion, e.g. 'accuracy>=0.9'")
    with uow_factory() as uow:
        row = uow.models.get(model_name, number)
        row.success_criteria = {"criteria": parsed}
        if metrics:
            row.metrics = {**row.metrics, **metrics}
        uow.audit.append(
            actor,
            "criteria_set",
            row.model_version_id,
            {"criteria": parsed, "metrics": dict(metrics)},
        )
        uow.commit()
        return {
            "model_name": model_name,
            "version": number,
            "criteria": parsed,
            "metrics": dict(row.metrics),
        }
