"""Use cases that keep the registry and the state database in step: register and sync.

The registry (MLflow) holds versions, their artifacts and the runs' evidence; the
``ml_model_registry`` table is the record the gates and the flows judge. Registering writes both
in one logical step: if the database write fails, the new registry version is deleted again, so
neither side holds a version the other does not know.

Sync reports, never adopts: a stage or metric that differs between MLflow's tags and the state
database is reported (in the :class:`SyncReport` and once per difference in the audit log) and
the database keeps its own; anyone who can edit a tag in MLflow could otherwise put a version in
production or through the gates. A stage moves only through promote (and rollback). A version
new to the database enters as development with its tag metrics marked ``registry`` (typed in
MLflow, not logged by a run we read); a model name that register would refuse is reported and
not added.

Every metric's provenance is kept beside the criteria (``success_criteria["metric_sources"]``:
``run`` logged by the training run, ``caller`` typed by whoever registered it or set criteria,
``registry`` found by sync), so an approver sees which figures the gates judged came from where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.commands import Register
from agents.handlers import references
from agents.ports import Services
from database.models import ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from database.versions import labels_of, resolve_version
from lifecycle.errors import BadInputError, ModelDeployerError
from lifecycle.gates import parse_criterion
from lifecycle.metrics import finite_metrics
from lifecycle.names import check_distinct
from lifecycle.ports import ModelRegistry, RegisteredVersion
from lifecycle.records import model_version_id
from lifecycle.stages import ModelStage
from lifecycle.tenants import (
    DEFAULT_TENANT,
    UnknownTenantError,
    normalise_model_name,
    same_tenant,
    tenant_of,
)
from lifecycle.version_labels import check_label_free, parse_label
from mlops.reference_data import ReferenceSample

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
    name = normalise_model_name(command.model_name)  # default/iris is iris
    reference = (  # a bad reference file is refused before anything is written
        references.file_reference(c, command.model_uri, command.reference)
        if command.reference
        else None
    )
    result = register_version(
        c.uow,
        c.registry,
        name,
        command.model_uri,
        actor,
        metrics=command.metrics,
        criteria=command.criteria,
        reference=reference,
        label=command.label,
    )
    if reference is None:  # else the dataset the run logged as its input, if any
        result["reference"] = references.adopt_logged_reference(
            c, name, result["version"], result["run_id"], command.model_uri, actor
        )
    return result


def register_version(
    uow_factory: UowFactory,
    registry: ModelRegistry,
    model_name: str,
    model_uri: str,
    actor: str,
    metrics: Mapping[str, float] | None = None,
    criteria: Sequence[str] = (),
    reference: ReferenceSample | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Register a model version in the registry and the state database, or in neither (with
    its drift ``reference``, when given, in the same transaction, and its semantic ``label``:
    one another version of the model carries is refused before anything is written, and the
    database's unique index settles a race, undoing the registry's version)."""
    model_name = normalise_model_name(model_name)
    parsed = [str(parse_criterion(c)) for c in criteria]  # refuse bad input before any write
    metrics = finite_metrics(metrics or {})  # NaN/inf would pass gates and break PostgreSQL
    wanted = str(parse_label(label)) if label else None
    with uow_factory() as uow:  # a name that reads like another model's is refused, too
        require_tenant(uow, model_name)
        known = {*uow.models.list_model_names(), *registry.list_model_names()}
        if wanted:
            check_label_free(model_name, "", parse_label(wanted), labels_of(uow.models, model_name))
    check_distinct(model_name, same_tenant(model_name, known))
    registered = registry.register(model_name, model_uri, metrics=metrics, label=wanted)
    typed = set(metrics or {})
    sources = {k: CALLER if k in typed else RUN for k in registered.metrics}
    try:
        finite_metrics(registered.metrics)  # the training run's own may be NaN too
        with uow_factory() as uow:
            taken = uow.models.list_model_names()  # one registered meanwhile
            check_distinct(model_name, same_tenant(model_name, taken))
            row = uow.models.add(_row_for(registered, parsed, sources, label=registered.label))
            uow.audit.append(
                actor,
                "registered",
                row.model_version_id,
                {
                    "model_uri": model_uri,
                    "metrics": dict(registered.metrics),
                    "metric_sources": sources,
                    "criteria": parsed,
                    "label": registered.label,
                },
            )
            stored = _store_reference(uow, registered, reference, actor)
            uow.commit()
    except BaseException:
        registry.delete_version(model_name, registered.version)
        raise
    return {**describe(registered, parsed), "reference": stored}


def require_tenant(uow: SqlAlchemyUnitOfWork, model_name: str) -> None:
    """UnknownTenantError unless the tenant of ``model_name`` exists (nothing is written)."""
    tenant = tenant_of(model_name)  # the default tenant always exists
    if tenant != DEFAULT_TENANT and uow.access.tenant(tenant) is None:
        raise UnknownTenantError(
            f"no tenant {tenant!r}: a platform admin creates it (deployer tenant create {tenant})"
        )


def _store_reference(
    uow: SqlAlchemyUnitOfWork,
    version: RegisteredVersion,
    reference: ReferenceSample | None,
    actor: str,
) -> dict[str, Any] | None:
    if reference is None:
        return None
    return references.store_reference(uow, version.model_name, version.version, reference, actor)


RUN, CALLER, REGISTRY = "run", "caller", "registry"
"""Where a metric came from: logged by the training run, typed by a caller, found by sync."""


def _row_for(
    version: RegisteredVersion,
    criteria: Sequence[str],
    sources: Mapping[str, str],
    stage: ModelStage | None = None,
    label: str | None = None,
) -> ModelVersionRow:
    return ModelVersionRow(
        model_version_id=model_version_id(version.model_name, version.version),
        model_name=version.model_name,
        version=version.version,
        stage=(stage or version.stage).value,
        metrics=dict(version.metrics),
        params=dict(version.params),
        success_criteria={"criteria": list(criteria), "metric_sources": dict(sources)},
        artifact_uri=version.source_uri,
        preprocessing_uri=version.preprocessing_uri,
        run_id=version.run_id,
        experiment_id=version.experiment_id,
        parent_version=version.parent_version,
        label=label,
    )


def describe(version: RegisteredVersion, criteria: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON the CLI prints for a registered version."""
    return {
        "model_name": version.model_name,
        "version": version.version,
        "label": version.label,
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
    """What a sync found: versions added (as development), differences between MLflow and the
    state database (reported, never adopted), names refused, versions MLflow no longer has.
    A second sync of an unchanged registry adds nothing and reports the same differences."""

    added: list[str] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    missing_in_registry: list[str] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "drift": self.drift,
            "refused": self.refused,
            "missing_in_registry": self.missing_in_registry,
            "unchanged": self.unchanged,
        }


def sync_registry(uow_factory: UowFactory, registry: ModelRegistry, actor: str) -> SyncReport:
    """Reconcile the state database with the registry, idempotently, adopting nothing.

    Versions only in the registry are added as development (their names validated as register
    validates them); stage and metric differences are reported and audited once each, the
    database keeping its own; versions only in the database are reported (and kept, with their
    history), never dropped.
    """
    report = SyncReport()
    with uow_factory() as uow:
        known = {r.model_version_id: r for r in uow.models.list()}
        seen: set[str] = set()
        names = {r.model_name for r in known.values()}
        for name in registry.list_model_names():
            if _refused(uow, name, names, report, actor):
                continue
            for version in registry.list_versions(name):
                key = model_version_id(version.model_name, version.version)
                seen.add(key)
                _reconcile(uow, known.get(key), version, report, actor)
        report.missing_in_registry = sorted(set(known) - seen)
        for key in report.missing_in_registry:
            _audit_once(uow, actor, "sync_missing_in_registry", key, {})
        uow.commit()
    return report


def _refused(
    uow: SqlAlchemyUnitOfWork, name: str, names: set[str], report: SyncReport, actor: str
) -> bool:
    """Whether register would refuse ``name``: malformed, or reading like another known model's
    (then it is reported and audited once, not added; the next sync reports it again). ``names``
    grows by each admitted one."""
    try:
        if normalise_model_name(name) != name:
            raise BadInputError(f"{name!r} is not the stored form of a model name")
        check_distinct(name, same_tenant(name, names))
        require_tenant(uow, name)
    except BadInputError as exc:
        report.refused.append({"model_name": name, "reason": str(exc)})
        _audit_once(uow, actor, "sync_refused", name[:300], {"reason": str(exc)})
        return True
    names.add(name)
    return False


def _reconcile(
    uow: SqlAlchemyUnitOfWork,
    row: ModelVersionRow | None,
    version: RegisteredVersion,
    report: SyncReport,
    actor: str,
) -> None:
    key = model_version_id(version.model_name, version.version)
    if row is None:
        sources = dict.fromkeys(version.metrics, REGISTRY)
        label = adoptable_label(uow, version)
        row = uow.models.add(_row_for(version, (), sources, ModelStage.DEVELOPMENT, label))
        uow.audit.append(actor, "sync_added", key, {"stage": row.stage, "metric_sources": sources})
        report.added.append(key)
    drift = drift_of(row, version)
    if drift:
        _audit_once(uow, actor, "sync_drift", key, drift)
        report.drift.append({"model_version_id": key, **drift})
    elif key not in report.added:
        report.unchanged += 1


def adoptable_label(uow: SqlAlchemyUnitOfWork, version: RegisteredVersion) -> str | None:
    """The MLflow ``label`` tag of a version sync adds, when it is a label and no other version
    of the model carries it (labels name versions; they decide nothing, so adopting one is safe;
    a row already recorded keeps its own label whatever the tag says)."""
    if not version.label:
        return None
    try:
        wanted = parse_label(version.label)
        check_label_free(
            version.model_name, version.version, wanted, labels_of(uow.models, version.model_name)
        )
    except ModelDeployerError:
        return None
    return str(wanted)


def drift_of(row: ModelVersionRow, version: RegisteredVersion) -> dict[str, Any]:
    """How MLflow's tags differ from the state database's record: ``{"stage": {"state_db",
    "registry"}, "metrics": {name: {"state_db", "registry"}}}`` (empty: they agree)."""
    drift: dict[str, Any] = {}
    if row.stage != version.stage.value:
        drift["stage"] = {"state_db": row.stage, "registry": version.stage.value}
    metrics = {
        k: {"state_db": row.metrics.get(k), "registry": v}
        for k, v in sorted(version.metrics.items())
        if row.metrics.get(k) != v
    }
    if metrics:
        drift["metrics"] = metrics
    return drift


def drift_line(found: Mapping[str, Any]) -> str:
    """One reported difference as a sentence (what the CLI prints)."""
    parts = []
    if "stage" in found:
        stage = found["stage"]
        parts.append(f"stage {stage['registry']} in MLflow, {stage['state_db']} here")
    for name, values in found.get("metrics", {}).items():
        parts.append(f"{name} {values['registry']} in MLflow, {values['state_db']} here")
    return f"{found['model_version_id']}: " + "; ".join(parts) + " (kept: use promote)"


def _audit_once(
    uow: SqlAlchemyUnitOfWork, actor: str, action: str, subject: str, payload: dict[str, Any]
) -> None:
    """Audit ``action`` about ``subject`` unless its last such event said the same."""
    last = [e for e in uow.audit.list(subject) if e.action == action]
    if last and last[-1].payload == payload:
        return
    uow.audit.append(actor, action, subject, payload)


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

    parsed = [str(parse_criterion(c)) for c in criteria]
    if not parsed:
        raise BadInputError("give at least one criterion, e.g. 'accuracy>=0.9'")
    with uow_factory() as uow:
        number = resolve_version(uow.models, model_name, version)
        row = uow.models.get(model_name, number)
        sources = {**row.metric_sources, **dict.fromkeys(metrics, CALLER)}
        row.success_criteria = {"criteria": parsed, "metric_sources": sources}
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
