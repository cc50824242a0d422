"""The one resolver of the versions people name (issue 15): ``3``, ``v3``, ``1.2.0``,
``v1.2.0`` or ``latest`` -> the MLflow number everything downstream uses; and the one way a
label is given to a version (``label_version``: the row and the MLflow tag).

Resolution happens at the edges that hold a database session: the graph's intake, the
handlers that take a version (package, endpoints, criteria, label). Past them a version is a
number.
"""

from __future__ import annotations

from typing import Any

from database.protocols import ModelVersions, UnitOfWork
from lifecycle.ports import ModelRegistry
from lifecycle.records import model_version_id
from lifecycle.version_labels import (
    check_label_free,
    check_relabel,
    parse_label,
    parse_version_ref,
    resolve_ref,
)


def labels_of(models: ModelVersions, model_name: str) -> dict[str, str | None]:
    """A model's versions: number -> label (None: unlabelled)."""
    return {row.version: row.label for row in models.list(model_name)}


def resolve_version(models: ModelVersions, model_name: str, text: str) -> str:
    """The MLflow number ``text`` names among ``model_name``'s recorded versions.

    A malformed version is bad input before anything is read; an unknown number or label is
    ``UnknownVersionError`` naming the model's labels; an unknown model ``UnknownModelError``."""
    ref = parse_version_ref(text)
    return resolve_ref(model_name, ref, labels_of(models, model_name))


def label_version(
    uow: UnitOfWork,
    registry: ModelRegistry,
    model_name: str,
    version: str,
    label: str,
    actor: str,
    force: bool = False,
) -> dict[str, Any]:
    """Give ``model_name``'s ``version`` (any way of naming it) the semantic ``label``, staged
    in ``uow`` (the caller commits) with its audit event ``version_labelled``; the MLflow tag is
    set last, once the row is checked and staged, so a refused label writes nothing anywhere
    (a caller whose commit then fails puts the tag back: ``handlers.labels.label``).

    A label another version carries is ``LabelTakenError``; so is changing a labelled version's
    label without ``force``. Labelling a version with the label it has is a no-op (no event).
    The database's unique index (model, label) settles a race: the loser's commit fails."""
    parsed = parse_label(label)
    number = resolve_version(uow.models, model_name, version)
    labels = labels_of(uow.models, model_name)
    check_label_free(model_name, number, parsed, labels)
    row = uow.models.get(model_name, number)
    check_relabel(model_name, number, row.label, parsed, force)
    result = {"model_name": model_name, "version": number, "label": str(parsed)}
    if row.label == str(parsed):
        return {**result, "changed": False}
    previous, row.label = row.label, str(parsed)
    uow.audit.append(
        actor,
        "version_labelled",
        model_version_id(model_name, number),
        {
            "model": model_name,
            "version": number,
            "label": str(parsed),
            "previous": previous,
            "summary": f"{model_name} v{number} labelled {parsed}"
            + (f" (was {previous})" if previous else ""),
        },
    )
    registry.set_label(model_name, number, str(parsed))  # last: a refusal above writes nothing
    return {**result, "previous": previous, "changed": True}
