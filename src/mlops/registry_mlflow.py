"""The MLflow model registry behind the ``ModelRegistry`` port.

A version's stage is the version tag ``lifecycle=<stage>`` plus, for staging, shadow and
production, the alias of that name (an alias points at exactly one version). The deprecated
stage API is never called. Metrics, params and lineage are version tags, so a version carries
its evidence even when its run is gone. Every vendor error becomes one of ours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle.errors import (
    BadInputError,
    ForeignArtifactError,
    InfrastructureError,
    UnknownModelError,
)
from lifecycle.ports import RegisteredVersion
from lifecycle.records import parse_version
from lifecycle.stages import ModelStage
from mlops.mlflow_env import quiet, tracking
from mlops.processes import poll
from mlops.registry_support import first_line, mlflow_name, own_artifact_path, quote, read_back
from mlops.training import ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient

STAGE_TAG = "lifecycle"
LABEL_TAG = "label"
ALIASED = (ModelStage.STAGING, ModelStage.SHADOW, ModelStage.PRODUCTION)
IMPORT_EXPERIMENT = "model-deployer-imports"
REGISTRATION_TIMEOUT = 60.0
"""Seconds MLflow may take to finish registering a version (it is asynchronous)."""
ALIAS_READ_CHUNK = 100
"""Names per ``search_registered_models`` call of ``aliases_of`` (its filter travels in the
URL of an MLflow server's GET)."""


class InvalidModelUriError(BadInputError):
    """The model URI names nothing, or something that is not an MLflow model."""


class MlflowRegistry:
    """Registers versions and moves their stages in an MLflow registry (SQLite store or server)."""

    def __init__(
        self, tracking_uri: str, registry_uri: str | None = None, artifact_root: Path | None = None
    ) -> None:
        quiet()
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.artifact_root = artifact_root

    @cached_property
    def client(self) -> MlflowClient:
        """The MLflow client, made on first use: importing MLflow takes seconds, and a run that
        never touches the registry (a resumed, finished thread; a refused request) skips it."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    # -- reading ---------------------------------------------------------------------------

    def get_version(self, model_name: str, version: str) -> RegisteredVersion:
        number = parse_version(version)
        with self._errors(f"{model_name} v{number}"):
            self._require_model(flat := mlflow_name(model_name))
            return _to_version(self.client.get_model_version(flat, number))

    def list_versions(
        self, model_name: str, stage: ModelStage | None = None
    ) -> Sequence[RegisteredVersion]:
        with self._errors(model_name):
            found = self.client.search_model_versions(f"name = '{quote(mlflow_name(model_name))}'")
        versions = sorted((_to_version(v) for v in found), key=lambda v: int(v.version))
        return [v for v in versions if stage is None or v.stage is stage]

    def fetch_preprocessing(self, version: RegisteredVersion, dst: Path) -> Path | None:
        """Download the version's preprocessing step into ``dst`` (None when it has none).

        Only the version's own run's artifacts are fetched (``own_artifact_path``); any other
        URI is a ``ForeignArtifactError`` and nothing is downloaded."""
        import mlflow

        if not version.preprocessing_uri:
            return None
        run_artifacts = None
        if version.run_id:
            with self._errors(f"run {version.run_id}"):
                run_artifacts = str(self.client.get_run(version.run_id).info.artifact_uri)
        path = own_artifact_path(version.preprocessing_uri, version.run_id, run_artifacts)
        dst.mkdir(parents=True, exist_ok=True)
        with tracking(self.tracking_uri), self._errors(f"run {version.run_id}"):
            local = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=path, dst_path=str(dst)
            )
        if not Path(local).is_file():
            raise ForeignArtifactError(
                f"preprocessing_uri {version.preprocessing_uri} is not a file of run "
                f"{version.run_id}; nothing was packaged"
            )
        return Path(local)

    def list_model_names(self) -> Sequence[str]:
        with self._errors("the registry"):
            return sorted(read_back(m.name) for m in self._all_registered_models())

    # -- writing ---------------------------------------------------------------------------

    def register(
        self,
        model_name: str,
        model_uri: str,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        parent_version: str | None = None,
        label: str | None = None,
    ) -> RegisteredVersion:
        """Register ``model_uri`` as a new version in development, or raise and leave nothing."""
        source, run_id = self._resolve_source(model_uri)
        run_metrics, run_params, experiment_id = self._run_evidence(run_id)
        tags = {STAGE_TAG: ModelStage.DEVELOPMENT.value, "source_uri": model_uri}
        if experiment_id:
            tags["experiment_id"] = experiment_id
        tags |= {
            f"metric.{k}": repr(float(v)) for k, v in {**run_metrics, **(metrics or {})}.items()
        }
        tags |= {f"param.{k}": str(v) for k, v in {**run_params, **(params or {})}.items()}
        if parent_version:
            tags["parent_version"] = parse_version(parent_version)
        if label:
            tags[LABEL_TAG] = label
        created_model, flat = False, mlflow_name(model_name)
        with self._errors(model_name):
            if not self._exists(flat):
                self.client.create_registered_model(flat)
                created_model = True
            try:
                mv = self.client.create_model_version(flat, source, run_id=run_id, tags=tags)
                return self._wait_ready(flat, str(mv.version))
            except BaseException:
                if created_model:
                    self.client.delete_registered_model(flat)
                raise

    def set_stage(self, model_name: str, version: str, stage: ModelStage) -> RegisteredVersion:
        """Set the stage tag and alias; on any failure restore what was there and re-raise."""
        number, flat = parse_version(version), mlflow_name(model_name)
        with self._errors(f"{model_name} v{number}"):
            before = self.client.get_model_version(flat, number)
            aliases_before = self._aliases(flat)
            try:
                self._apply_stage(flat, number, stage, aliases_before)
            except BaseException:
                self._restore(flat, number, before.tags.get(STAGE_TAG), aliases_before)
                raise
            return _to_version(self.client.get_model_version(flat, number))

    def delete_version(self, model_name: str, version: str) -> None:
        """Delete a version, and the registered model when it was the last one.

        A version that is already gone is fine: this undoes a registration, and an undo that
        runs twice (or after a crash) must not hide the error that made it run."""
        number, flat = parse_version(version), mlflow_name(model_name)
        with contextlib.suppress(UnknownModelError), self._errors(f"{model_name} v{number}"):
            self.client.delete_model_version(flat, number)
        with self._errors(model_name):
            gone = not self._exists(flat)
            if gone or self.client.search_model_versions(f"name = '{quote(flat)}'"):
                return
            self.client.delete_registered_model(flat)

    def set_label(self, model_name: str, version: str, label: str | None) -> None:
        """The ``label`` tag, so MLflow's UI shows the label beside the number."""
        number, flat = parse_version(version), mlflow_name(model_name)
        with self._errors(f"{model_name} v{number}"):
            if label:
                self.client.set_model_version_tag(flat, number, LABEL_TAG, label)
            elif LABEL_TAG in (self.client.get_model_version(flat, number).tags or {}):
                self.client.delete_model_version_tag(flat, number, LABEL_TAG)

    def aliases(self, model_name: str) -> Mapping[str, str]:
        from mlflow.exceptions import MlflowException

        flat = mlflow_name(model_name)
        with self._errors(model_name):
            try:  # one registry read (the watcher's tick re-checks models in turn with it)
                return self._aliases(flat)
            except MlflowException as exc:
                if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                    return {}
                raise

    def aliases_of(self, model_names: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        flats = {mlflow_name(name): name for name in model_names}
        found: dict[str, Mapping[str, str]] = {name: {} for name in model_names}
        names = sorted(flats)
        with self._errors(f"the aliases of {len(names)} models"):
            for start in range(0, len(names), ALIAS_READ_CHUNK):
                listed = ", ".join(f"'{quote(n)}'" for n in names[start : start + ALIAS_READ_CHUNK])
                token = None
                while True:
                    page = self.client.search_registered_models(
                        filter_string=f"name IN ({listed})", max_results=1000, page_token=token
                    )
                    for model in (m for m in page if m.name in flats):
                        found[flats[model.name]] = {k: str(v) for k, v in model.aliases.items()}
                    token = page.token
                    if not token:
                        break
        return found

    def move_aliases(self, model_name: str, moves: Mapping[str, str | None]) -> None:
        flat = mlflow_name(model_name)
        with self._errors(model_name):
            current = self._aliases(flat)
            for alias, version in moves.items():
                number = None if version is None else parse_version(version)
                if number is not None and current.get(alias) != number:
                    self.client.set_registered_model_alias(flat, alias, number)
                elif version is None and alias in current:
                    self.client.delete_registered_model_alias(flat, alias)

    # -- helpers ---------------------------------------------------------------------------

    def _apply_stage(
        self, name: str, number: str, stage: ModelStage, aliases: Mapping[str, str]
    ) -> None:
        self.client.set_model_version_tag(name, number, STAGE_TAG, stage.value)
        for alias in ALIASED:
            if alias is not stage and aliases.get(alias.value) == number:
                self.client.delete_registered_model_alias(name, alias.value)
        if stage in ALIASED:
            self.client.set_registered_model_alias(name, stage.value, number)

    def _restore(
        self, name: str, number: str, old_stage: str | None, aliases: Mapping[str, str]
    ) -> None:
        with contextlib.suppress(Exception):
            self.client.set_model_version_tag(name, number, STAGE_TAG, old_stage or "development")
        current = self._aliases(name)
        for alias in ALIASED:
            with contextlib.suppress(Exception):
                if alias.value in aliases:
                    self.client.set_registered_model_alias(name, alias.value, aliases[alias.value])
                elif alias.value in current:
                    self.client.delete_registered_model_alias(name, alias.value)

    def _resolve_source(self, model_uri: str) -> tuple[str, str | None]:
        """Check the URI names an MLflow model; return (source to register, run id)."""
        import mlflow
        from mlflow.exceptions import MlflowException

        local = Path(model_uri).expanduser()
        if "://" not in model_uri and not model_uri.startswith(("runs:/", "models:/")):
            if not (local / "MLmodel").is_file():
                raise InvalidModelUriError(
                    f"{model_uri} is not an MLflow model directory (no MLmodel)"
                )
            return self._import_local(local.resolve())
        with tracking(self.tracking_uri):
            try:
                info = mlflow.models.get_model_info(model_uri)
            except (MlflowException, OSError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InvalidModelUriError(f"no MLflow model at {model_uri}: {first}") from None
        if model_uri.startswith("models:/"):
            return self._models_source(model_uri), info.run_id
        return model_uri, info.run_id

    def _models_source(self, model_uri: str) -> str:
        name, _, ref = model_uri.removeprefix("models:/").partition("/")
        ref = ref or "latest"
        if ref.isdigit():
            return str(self.client.get_model_version_download_uri(name, ref))
        mv = self.client.get_model_version_by_alias(name, ref.lstrip("@"))
        return str(self.client.get_model_version_download_uri(name, mv.version))

    def _import_local(self, directory: Path) -> tuple[str, str]:
        """Copy a local model directory into a new run, so the registry never points at a
        folder that may move or vanish."""
        import mlflow

        with tracking(self.tracking_uri):
            experiment_id = ensure_experiment(IMPORT_EXPERIMENT, self.artifact_root)
            with mlflow.start_run(experiment_id=experiment_id) as run:
                mlflow.log_artifacts(str(directory), artifact_path="model")
                mlflow.set_tag("imported_from", str(directory))
        return f"{run.info.artifact_uri}/model", run.info.run_id

    def _run_evidence(
        self, run_id: str | None
    ) -> tuple[dict[str, float], dict[str, str], str | None]:
        """The run's metrics, params and experiment id, recorded on the version as evidence."""
        if not run_id:
            return {}, {}, None
        with self._errors(f"run {run_id}"):
            run = self.client.get_run(run_id)
        return dict(run.data.metrics), dict(run.data.params), str(run.info.experiment_id)

    def _wait_ready(self, name: str, number: str) -> RegisteredVersion:
        def ready() -> RegisteredVersion | None:
            mv = self.client.get_model_version(name, number)
            if mv.status == "FAILED_REGISTRATION":
                raise InfrastructureError(f"MLflow failed to register {name} v{number}")
            return _to_version(mv) if mv.status == "READY" else None

        version = poll(ready, timeout=REGISTRATION_TIMEOUT, interval=0.1)
        if version is None:
            raise InfrastructureError(f"MLflow did not finish registering {name} v{number}")
        return version

    def _aliases(self, name: str) -> dict[str, str]:
        """alias -> version; MLflow returns versions as ints here, strings elsewhere."""
        return {k: str(v) for k, v in self.client.get_registered_model(name).aliases.items()}

    def _exists(self, name: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
            return True
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise

    def _require_model(self, name: str) -> None:
        if not self._exists(name):
            raise UnknownModelError(f"no model named {read_back(name)!r} is registered")

    def _all_registered_models(self) -> Iterator[Any]:
        token = None
        while True:
            page = self.client.search_registered_models(max_results=1000, page_token=token)
            yield from page
            token = page.token
            if not token:
                return

    @contextlib.contextmanager
    def _errors(self, subject: str) -> Iterator[None]:
        """Translate MLflow's exceptions into this project's, in one readable line."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            message = first_line(exc.message)
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise UnknownModelError(f"{subject} is not registered") from None
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_ALREADY_EXISTS"):
                raise BadInputError(f"{subject}: {message}") from None
            raise InfrastructureError(
                f"the MLflow registry failed on {subject}: {message}"
            ) from exc
        except OSError as exc:
            raise InfrastructureError(f"the MLflow registry is unreachable: {exc}") from exc


def _to_version(mv: Any) -> RegisteredVersion:
    tags: dict[str, str] = dict(mv.tags or {})
    return RegisteredVersion(
        model_name=read_back(mv.name),
        version=str(mv.version),
        stage=ModelStage(tags.get(STAGE_TAG, ModelStage.DEVELOPMENT.value)),
        source_uri=tags.get("source_uri", mv.source),
        run_id=mv.run_id or None,
        experiment_id=tags.get("experiment_id"),
        parent_version=tags.get("parent_version"),
        metrics={
            k.removeprefix("metric."): float(v) for k, v in tags.items() if k.startswith("metric.")
        },
        params={k.removeprefix("param."): v for k, v in tags.items() if k.startswith("param.")},
        preprocessing_uri=tags.get("preprocessing_uri"),
        label=tags.get(LABEL_TAG),
    )


def download_model(registry: MlflowRegistry, model_name: str, version: str, dst: Path) -> Path:
    """Download a version's MLflow model directory to ``dst`` and return its path."""
    import mlflow

    number = parse_version(version)
    dst.mkdir(parents=True, exist_ok=True)
    with tracking(registry.tracking_uri), registry._errors(f"{model_name} v{number}"):
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{mlflow_name(model_name)}/{number}", dst_path=str(dst)
        )
    found = sorted(p.parent for p in Path(path).rglob("MLmodel"))
    if not found:
        raise InfrastructureError(f"{model_name} v{number} downloaded without an MLmodel file")
    return found[0]
