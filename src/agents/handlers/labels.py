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


def label(
    c: Services, model_name: str, version: str, new_label: str, actor: str, force: bool = False
) -> dict[str, Any]:
    """Label ``model_name``'s ``version`` (a number, a label or ``latest``) ``new_label``."""
    with c.uow() as uow:
        require_deployer(uow, actor, model_name)
        result = label_version(uow, c.registry, model_name, version, new_label, actor, force)
        if not result["changed"]:
            return result
        try:
            uow.commit()
        except BaseException:  # the row was not written: put MLflow's tag back as it was
            c.registry.set_label(model_name, result["version"], result["previous"])
            raise
    return result


def require_deployer(uow: UnitOfWork, actor: str, model_name: str) -> None:
    """Refuse ``actor`` unless they hold the deployer role (or a higher one) in the model's
    tenant; checked before the model is looked up."""
    uow.access.grants_of(actor).check(Role.DEPLOYER, model_name, "labelling versions")
