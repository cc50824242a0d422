"""The one place that wires adapters to ports: settings in, ready-to-use components out."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from agents.settings import Settings, load_settings
from database.audit import AUDIT_KEY_INFO
from database.engine import make_engine, make_session_factory
from database.routing import DbMetricsSource, DbRouter
from database.schema import check_schema
from database.services import DbPackageLedger
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import ConfigurationError
from lifecycle.gates import PromotionPolicy
from mlops.endpoints_local import LocalEndpointManager
from mlops.notify_apprise import AppriseNotifier
from mlops.packager_bentoml import BentoPackager
from mlops.registry_mlflow import MlflowRegistry

if TYPE_CHECKING:
    # LangGraph and MLflow take seconds to import: commands that do not run the agent skip them.
    from agents.model_deployer.agent import ModelDeployerAgent
    from agents.model_deployer.deps import AgentClock, AgentPolicy, DeployerDeps
    from agents.retraining.agent import RetrainingAgent
    from agents.retraining.deps import RetrainingDeps
    from agents.supervisor.agent import SystemAgent
    from memory.store_memory import StoreMemory
    from mlops.projects_mlflow import MlflowProjectRunner
    from mlops.serving_backends import ServingBackends


@dataclass
class Container:
    """Lazily built components for one process; each is built only when a command needs it."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        """The state database, refused (one line) when its schema is not this code's."""
        engine = make_engine(self.settings.database_url)
        try:
            check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return engine

    session_info: dict[str, Any] = field(default_factory=dict)
    """What every session of this container carries (the audit key; a watcher's fence)."""

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        # The key is read (or made) on the first append or verification, then kept.
        self.session_info.setdefault(AUDIT_KEY_INFO, functools.cache(self.settings.audit_key))
        return make_session_factory(self.engine, self.session_info)

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A new unit of work on the state database (rolls back unless committed)."""
        return SqlAlchemyUnitOfWork(self.session_factory)

    def reader(self) -> SqlAlchemyUnitOfWork:
        """A read-only unit of work: for what is shown, never for what a write decides."""
        return SqlAlchemyUnitOfWork(self.session_factory, read_only=True)

    @cached_property
    def registry(self) -> MlflowRegistry:
        return MlflowRegistry(self.settings.tracking_uri, artifact_root=self.settings.artifact_root)

    @cached_property
    def packager(self) -> BentoPackager:
        return BentoPackager(self.settings.bentoml_home)

    @cached_property
    def endpoints(self) -> LocalEndpointManager:
        return LocalEndpointManager(self.settings.bentoml_home, self.settings.log_dir)

    @cached_property
    def router(self) -> DbRouter:
        """Routing tables in the state DB; running gateways pick a change up within a second."""
        return DbRouter(self.session_factory, self.settings.user)

    @cached_property
    def metrics(self) -> DbMetricsSource:
        """What the gateways measured, merged over replicas."""
        return DbMetricsSource(self.session_factory)

    @cached_property
    def notifier(self) -> AppriseNotifier:
        """Alert delivery (``agents.alerting``) through Apprise, each send bounded."""
        return AppriseNotifier(self.settings.alert_send_timeout_seconds)

    @contextmanager
    def open_memory(self) -> Iterator[StoreMemory]:
        """Episodic and procedural memory over the LangGraph store of this home's database."""
        from memory.store_memory import StoreMemory
        from memory.stores import open_store

        with open_store(self.settings.database_url) as store:
            yield StoreMemory(store)

    def policy(self) -> AgentPolicy:
        """The agent's rules, from the settings."""
        from agents.model_deployer.deps import AgentPolicy

        s = self.settings
        return AgentPolicy(
            promotion=PromotionPolicy(
                shadow_min_hours=s.shadow_min_hours,
                min_shadow_comparisons=s.min_shadow_comparisons,
                min_shadow_agreement=s.min_shadow_agreement,
                shadow_latency_ratio=s.shadow_latency_ratio,
                shadow_latency_slack_ms=s.shadow_latency_slack_ms,
            ),
            warm_seconds=s.warm_seconds,
            rollback_preset=s.rollback_preset,
            rollback_overrides=s.rollback_overrides,
            canary_step_seconds=s.canary_step_seconds,
            stale_figures_ticks=s.stale_figures_ticks,
            stale_figures_seconds=s.stale_figures_seconds,
            stuck_deploy_seconds=s.stuck_deploy_seconds,
            slo=s.slo_objectives,
            slo_window_seconds=s.slo_window_seconds,
            slo_baseline_seconds=s.slo_baseline_seconds,
            slo_guard_seconds=s.slo_guard_window_seconds,
        )

    @cached_property
    def serving(self) -> ServingBackends:
        """Packages (recorded in the state DB) and endpoints: new ones on ``DEPLOYER_SERVING``'s
        backend, each one checked and stopped on the backend that started it. Choosing ``ray``
        without the ``[ray]`` extra installed is refused here, before anything is written."""
        from mlops.serving_backends import ServingBackends
        from mlops.serving_local import LocalServing
        from mlops.serving_ray import RayServing, ray_installed

        s = self.settings
        if s.serving == "ray" and not ray_installed():
            raise ConfigurationError(
                "DEPLOYER_SERVING=ray needs Ray Serve: pip install 'model-deployer[ray]'"
            )
        local = LocalServing(
            lambda: self.registry,
            lambda: self.packager,
            self.endpoints,
            s.bentoml_home,
            DbPackageLedger(self.uow),
        )

        def ray() -> RayServing:
            if not ray_installed():
                raise ConfigurationError(
                    "this deployment runs on Ray, and Ray Serve is not installed: "
                    "pip install 'model-deployer[ray]'"
                )
            return RayServing(local, s.ray_address, s.ray_serve_url)

        return ServingBackends(local, s.serving, {"ray": ray})

    def deps(
        self, memory: StoreMemory, clock: AgentClock | None = None, actor: str | None = None
    ) -> DeployerDeps:
        """The agent's ports over this home's real adapters, acting for ``actor`` (default: the
        OS user of this process, ``settings.user``); never unbound."""
        from agents.model_deployer.deps import DeployerDeps, SystemClock
        from mlops.gateway.router_client import ConfirmingRouter

        s = self.settings
        return DeployerDeps(
            uow=self.uow,
            registry=self.registry,
            serving=self.serving,
            router=ConfirmingRouter(self.router, s.gateway_dir, s.gateway_token),
            metrics=self.metrics,
            memory=memory,
            clock=clock or SystemClock(),
            policy=self.policy(),
            actor=actor or s.user,
        )

    @contextmanager
    def open_agent(self, actor: str | None = None) -> Iterator[ModelDeployerAgent]:
        """The ModelDeployerAgent over this home, with its checkpointer and store open, acting
        for ``actor`` (the API passes its token's user; default: this process's OS user)."""
        from agents.model_deployer.agent import ModelDeployerAgent
        from agents.model_deployer.state import State
        from memory.store_memory import StoreMemory
        from memory.stores import open_checkpointer, open_store

        url = self.settings.database_url
        with open_checkpointer(url, (State,)) as saver, open_store(url) as store:
            deps = self.deps(StoreMemory(store), actor=actor)
            yield ModelDeployerAgent(deps, checkpointer=saver, store=store)

    @cached_property
    def project_runner(self) -> MlflowProjectRunner:
        """MLflow Projects and models for the retraining agent."""
        from mlops.projects_mlflow import MlflowProjectRunner

        return MlflowProjectRunner(self.settings.tracking_uri)

    def retraining_deps(
        self, actor: str | None = None, memory: StoreMemory | None = None
    ) -> RetrainingDeps:
        """The retraining agent's ports over this home's real adapters."""
        from agents.private import ensure_private_dir
        from agents.retraining.deps import RetrainingDeps, RetrainingRules
        from database.retraining_data import labelled_requests

        s = self.settings

        def labelled(model: str, since: Any, until: Any) -> Any:
            with self.reader() as uow:
                return labelled_requests(uow.session, model, since, until)

        return RetrainingDeps(
            uow=self.uow,
            registry=self.registry,
            runner=self.project_runner,
            labelled=labelled,
            workdir=ensure_private_dir(s.home_dir / "retraining"),
            rules=RetrainingRules(
                min_train_rows=s.retraining_min_train_rows,
                min_holdout_rows=s.retraining_min_holdout_rows,
                tolerance=s.retraining_tolerance,
                shadow_traffic=s.retraining_shadow_traffic,
            ),
            memory=memory,
            actor=actor or s.user,
        )

    @contextmanager
    def open_retraining(self, actor: str | None = None) -> Iterator[RetrainingAgent]:
        """The RetrainingAgent over this home, with its checkpointer open."""
        from agents.retraining.agent import RetrainingAgent
        from agents.retraining.state import State
        from memory.store_memory import StoreMemory
        from memory.stores import open_checkpointer, open_store

        url = self.settings.database_url
        with open_checkpointer(url, (State,)) as saver, open_store(url) as store:
            deps = self.retraining_deps(actor, StoreMemory(store))
            yield RetrainingAgent(deps, checkpointer=saver)

    @contextmanager
    def open_system(self, actor: str | None = None) -> Iterator[SystemAgent]:
        """The system graph (the supervisor over every agent) over this home, with its
        checkpointer and store open, acting for ``actor``; ``.deployer`` is the deployer agent
        over the same checkpointer. Each agent is one ``AgentSpec`` line below."""
        from agents import model_monitor, retraining
        from agents.model_deployer.agent import ModelDeployerAgent
        from agents.model_deployer.graph import build_graph
        from agents.supervisor.agent import SystemAgent
        from agents.supervisor.spec import deployer_spec, monitor_spec, retraining_spec, state_types
        from lifecycle.handoff import AgentName
        from memory.store_memory import StoreMemory
        from memory.stores import open_checkpointer, open_store

        url = self.settings.database_url
        with open_store(url) as store:
            deps = self.deps(StoreMemory(store), actor=actor)
            watching = model_monitor.MonitorDeps(self.uow, deps.memory, deps.clock, deps.actor)
            training = self.retraining_deps(actor, StoreMemory(store))
            agents = {
                AgentName.DEPLOYER: deployer_spec(build_graph(deps).compile()),
                AgentName.MONITOR: monitor_spec(model_monitor.build_graph(watching).compile()),
                AgentName.RETRAINING: retraining_spec(retraining.build_graph(training).compile()),
            }
            with open_checkpointer(url, state_types(agents.values())) as saver:
                deployer = ModelDeployerAgent(deps, checkpointer=saver, store=store)
                yield SystemAgent(agents, saver, store, deployer=deployer)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings | None = None) -> Container:
    """Build the container for this process from the environment (or the given settings)."""
    return Container(settings or load_settings())
