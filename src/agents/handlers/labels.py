"""``deployer label NAME VERSION LABEL [--force]``: give an existing version its semantic
label (deployers only), in the state database and as the MLflow tag ``label``.

A labelled version keeps its label unless ``--force`` says to change it (people and scripts
may already name it by it); a label another version of the model carries is refused
(``LabelTakenError``, exit 3), and a refused label writes nothing, in the database or MLflow.
"""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from database.protocols import UnitOfWork
from database.versions import label_version
from lifecycle.approval import Role
from lifecycle.errors import PermissionDeniedError


def label(
    c: Services, model_name: str, version: str, new_label: str, actor: str, force: bool = False
) -> dict[str, Any]:
    """Label ``model_name``'s ``version`` (a number, a label or ``latest``) ``new_label``."""
    with c.uow() as uow:
        require_deployer(uow, actor)
        result = label_version(uow, c.registry, model_name, version, new_label, actor, force)
        if not result["changed"]:
            return result
        try:
            uow.commit()
        except BaseException:  # the row was not written: put MLflow's tag back as it was
            c.registry.set_label(model_name, result["version"], result["previous"])
            raise
    return result


def require_deployer(uow: UnitOfWork, actor: str) -> None:
    """Refuse ``actor`` unless they hold the deployer role (or a higher one)."""
    best = uow.access.highest_role(actor)
    if best is None or best < Role.DEPLOYER:
        raise PermissionDeniedError(
            f"{actor} does not hold the deployer role; only deployers may label versions"
        )
