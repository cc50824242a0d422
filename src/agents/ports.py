"""What handlers and queries are given: one home's ports and its unit of work factory.

``agents.bootstrap.Container`` is the one implementation (the composition root wires it); a
handler types its argument as ``Services``, so it never imports the wiring, and a test may pass
any object with these members.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agents.model_deployer.agent import ModelDeployerAgent
    from agents.retraining.agent import RetrainingAgent
    from agents.settings import Settings
    from agents.supervisor.agent import SystemAgent
    from database.routing import DbMetricsSource, DbRouter
    from database.uow import SqlAlchemyUnitOfWork
    from lifecycle.ports import ProjectRunner
    from memory.store_memory import StoreMemory
    from mlops.endpoints_local import LocalEndpointManager
    from mlops.packager_bentoml import BentoPackager
    from mlops.registry_mlflow import MlflowRegistry
    from mlops.serving_backends import ServingBackends


class Services(Protocol):
    """One home's settings, unit of work factory, adapters and agent (built on first use)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def session_factory(self) -> sessionmaker[Session]: ...

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A new unit of work on the state database (rolls back unless committed)."""
        ...

    def reader(self) -> SqlAlchemyUnitOfWork:
        """A read-only unit of work (on SQLite it does not take the write lock)."""
        ...

    @property
    def registry(self) -> MlflowRegistry: ...

    @property
    def packager(self) -> BentoPackager: ...

    @property
    def endpoints(self) -> LocalEndpointManager: ...

    @property
    def serving(self) -> ServingBackends: ...

    @property
    def router(self) -> DbRouter: ...

    @property
    def metrics(self) -> DbMetricsSource: ...

    def open_memory(self) -> AbstractContextManager[StoreMemory]:
        """Episodic and procedural memory over this home's store."""
        ...

    def open_agent(self, actor: str | None = None) -> AbstractContextManager[ModelDeployerAgent]:
        """The ModelDeployerAgent over this home, with its checkpointer and store open, acting
        for ``actor`` (default: this process's OS user)."""
        ...

    @property
    def project_runner(self) -> ProjectRunner: ...

    def open_retraining(self, actor: str | None = None) -> AbstractContextManager[RetrainingAgent]:
        """The RetrainingAgent over this home, with its checkpointer open."""

    def open_system(self, actor: str | None = None) -> AbstractContextManager[SystemAgent]:
        """The system graph (the supervisor over every agent) over this home, acting for
        ``actor``."""
        ...
