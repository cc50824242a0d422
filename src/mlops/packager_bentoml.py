"""Package one model version as one bento, offline, and export it as a ``.bento`` archive.

The bento holds the MLflow model (as a BentoML model), the preprocessing step when the version
has one, the service of ``mlops/bento_service/service.py`` and a ``deployment_manifest.json``.
It lists the Python packages it needs (``lifecycle.bento_requirements``: the model's own
requirements, then the service's needs pinned to this environment's versions), so an exported
archive runs on a fresh node once they are installed; a requirement that is not a plain PyPI
one is dropped with a warning in the build log. Builds never reach the network: package locking
is off, so BentoML only writes the list down (``bentoml serve`` here runs in this environment).

BentoML reads ``BENTOML_HOME`` once, at import; :func:`use_bentoml_home` sets it before that, and
points BentoML's container at another home if it was already imported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from lifecycle.bento_requirements import (
    SERVICE_PACKAGES,
    Requirements,
    bento_packages,
    conda_pip_lines,
    read_requirements,
)
from lifecycle.errors import (
    ForeignArtifactError,
    InfrastructureError,
    InvalidModelDirectoryError,
    UnknownModelError,
)
from lifecycle.names import bento_name, bento_tag
from lifecycle.ports import PackagedModel, RegisteredVersion
from lifecycle.records import utcnow
from mlops.mlflow_env import quiet

SERVICE_SOURCE = Path(__file__).resolve().parent / "bento_service" / "service.py"
log = logging.getLogger(__name__)


def use_bentoml_home(home: Path) -> None:
    """Make BentoML use ``home`` as its store, whether or not it was imported already."""
    quiet()
    # BentoML makes temporary build folders under <home>/tmp and expects it to exist.
    for sub in ("bentos", "models", "tmp", "envs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    os.environ["BENTOML_HOME"] = str(home)
    if "bentoml" in sys.modules:
        from bentoml._internal.bento import BentoStore
        from bentoml._internal.configuration.containers import BentoMLContainer
        from bentoml._internal.models import ModelStore

        # The stores and folders derived from the home are memoised on first use: set them all,
        # or a second home in the same process would build into the first one's store.
        container: Any = BentoMLContainer
        container.bentoml_home.set(str(home))
        for name, sub in (
            ("bento_store_dir", "bentos"),
            ("model_store_dir", "models"),
            ("tmp_bento_store_dir", "tmp"),
            ("env_store_dir", "envs"),
        ):
            getattr(container, name).set(str(home / sub))
        container.bento_store.set(BentoStore(str(home / "bentos")))
        container.tmp_bento_store.set(BentoStore(str(home / "tmp")))
        container.model_store.set(ModelStore(str(home / "models")))


def bento_tag_for(model_name: str, version: str) -> str:
    """The deterministic bento tag of a model version, unique per exact model name
    (``lifecycle.names.bento_tag``: ``deployer-<slug>-<hash of the name>:v<version>``)."""
    return bento_tag(model_name, version)


class BentoPackager:
    """Builds, finds and exports bentos in one BentoML home."""

    def __init__(self, bentoml_home: Path) -> None:
        self.home = bentoml_home
        use_bentoml_home(bentoml_home)

    def existing(self, model_name: str, version: str) -> PackagedModel | None:
        """The bento of this version if it was already built for exactly this model and version.

        A bento under the tag whose labels name another model or version is never reused: it
        is a ``ForeignArtifactError`` (``package(force=True)`` rebuilds it)."""
        import bentoml
        from bentoml.exceptions import NotFound

        use_bentoml_home(self.home)  # BentoML's store is process-wide; another home may be set
        tag = bento_tag_for(model_name, version)
        try:
            bento = bentoml.bentos.get(tag)
        except NotFound:
            return None
        labels = dict(bento.info.labels or {})
        found = (labels.get("model_name"), labels.get("model_version"))
        if found != (model_name, version):
            raise ForeignArtifactError(
                f"bento {tag} is labelled {found[0]!r} v{found[1]}, not {model_name!r} "
                f"v{version}; it is not reused (package with --force to rebuild it)"
            )
        return PackagedModel(bento_tag=str(bento.tag), path=str(bento.path))

    def package(
        self,
        version: RegisteredVersion,
        model_dir: Path,
        force: bool = False,
        preprocessing: Path | None = None,
    ) -> PackagedModel:
        """Build the bento of ``version`` from a local MLflow model directory (idempotent).

        ``preprocessing`` is the version's preprocessing step, already fetched from its own
        run's artifacts (``MlflowRegistry.fetch_preprocessing``); a version that names one and
        comes without it is refused, so nothing but the run's artifacts enters a bento."""
        if not (model_dir / "MLmodel").is_file():
            raise InvalidModelDirectoryError(f"{model_dir} is not an MLflow model (no MLmodel)")
        if version.preprocessing_uri and preprocessing is None:
            raise ForeignArtifactError(
                f"{version.model_name} v{version.version} names a preprocessing step that was "
                "not fetched from its run's artifacts; nothing was packaged"
            )
        try:
            found = self.existing(version.model_name, version.version)
        except ForeignArtifactError:
            if not force:
                raise
            found = None
        if found and not force:
            return found
        self._delete(
            bento_tag_for(version.model_name, version.version),
            f"{_model_name(version)}:v{version.version}",
        )
        model_tag = self._save_model(version, model_dir, preprocessing)
        packages = python_packages(model_dir, f"{version.model_name} v{version.version}")
        try:
            return self._build(version, model_tag, packages)
        except BaseException:
            self._delete(None, model_tag)
            raise

    def _save_model(
        self, version: RegisteredVersion, model_dir: Path, preprocessing: Path | None
    ) -> str:
        import bentoml

        columns = _signature_columns(model_dir)
        with bentoml.models.create(
            f"{_model_name(version)}:v{version.version}",
            labels={"model_name": version.model_name, "model_version": version.version},
            metadata={"source_uri": version.source_uri, "columns": columns},
        ) as model:
            shutil.copytree(model_dir, Path(model.path) / "mlflow_model")
            if preprocessing is not None:
                shutil.copy(preprocessing, Path(model.path) / "preprocessing.joblib")
        return str(model.tag)

    def _build(
        self, version: RegisteredVersion, model_tag: str, packages: tuple[str, ...]
    ) -> PackagedModel:
        import bentoml

        tag = bento_tag_for(version.model_name, version.version)
        name, _, bento_version = tag.partition(":")
        manifest = {
            "model_name": version.model_name,
            "model_version": version.version,
            "stage": version.stage.value,
            "bento_tag": tag,
            "bento_model_tag": model_tag,
            "service_name": name,
            "columns": _signature_columns_from_tag(model_tag),
            "source_uri": version.source_uri,
            "run_id": version.run_id,
            "python_packages": list(packages),
            "created_at": utcnow().isoformat(),
        }
        # BentoML imports the build context's ``service`` module in this process; a module
        # cached from an earlier build would lend this bento the other bento's service name.
        sys.modules.pop("service", None)
        with tempfile.TemporaryDirectory(prefix="deployer-build-") as ctx:
            shutil.copy(SERVICE_SOURCE, Path(ctx) / "service.py")
            (Path(ctx) / "deployment_manifest.json").write_text(json.dumps(manifest, indent=2))
            try:
                bento = bentoml.bentos.build(
                    "service:ModelService",
                    name=name,
                    version=bento_version,
                    build_ctx=ctx,
                    include=["service.py", "deployment_manifest.json"],
                    models=[model_tag],
                    labels={"model_name": version.model_name, "model_version": version.version},
                    python={"lock_packages": False, "packages": list(packages)},
                )
            except Exception as exc:
                raise InfrastructureError(f"bentoml build failed for {tag}: {exc}") from exc
            finally:
                sys.modules.pop("service", None)
        return PackagedModel(bento_tag=str(bento.tag), path=str(bento.path))

    def export(self, bento_tag: str, directory: str) -> str:
        """Write ``<directory>/<name>-<version>.bento`` and return its absolute path."""
        import bentoml
        from bentoml.exceptions import NotFound

        use_bentoml_home(self.home)

        out = Path(directory).expanduser().resolve()
        out.mkdir(parents=True, exist_ok=True)
        target = out / (bento_tag.replace(":", "-") + ".bento")
        try:
            return str(bentoml.export_bento(bento_tag, str(target)))
        except NotFound:
            raise UnknownModelError(f"no bento {bento_tag!r}; package the version first") from None

    def _delete(self, bento_tag: str | None, model_tag: str) -> None:
        import bentoml
        from bentoml.exceptions import NotFound

        for delete, tag in ((bentoml.bentos.delete, bento_tag), (bentoml.models.delete, model_tag)):
            if tag:
                with contextlib.suppress(NotFound):
                    delete(tag)


def python_packages(model_dir: Path, what: str) -> tuple[str, ...]:
    """The bento's package list for the MLflow model in ``model_dir``: its ``requirements.txt``
    (else its ``conda.yaml``'s pip section), then the service's needs at this environment's
    versions. Dropped lines are logged, one warning each."""
    model = model_requirements(model_dir)
    for dropped in model.dropped:
        log.warning("%s: requirement left out of the bento: %s", what, dropped)
    return bento_packages(model, built_with())


def model_requirements(model_dir: Path) -> Requirements:
    """The plain requirements the MLflow model names (none when it names none)."""
    listed = model_dir / "requirements.txt"
    if listed.is_file():
        return read_requirements(listed.read_text().splitlines())
    conda = model_dir / "conda.yaml"
    if conda.is_file():
        import yaml  # type: ignore[import-untyped]

        return read_requirements(conda_pip_lines(yaml.safe_load(conda.read_text())))
    return Requirements()


def built_with() -> dict[str, str]:
    """The versions of the service's packages installed here (the ones a bento is checked with)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in SERVICE_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def _model_name(version: RegisteredVersion) -> str:
    return f"{bento_name(version.model_name)}-model"


def _signature_columns(model_dir: Path) -> list[str]:
    """The input column names of the model's signature, in order ([] when it has none)."""
    from mlflow.models import Model

    signature = Model.load(str(model_dir)).signature
    if signature is None or signature.inputs is None:
        return []
    names: list[Any] = signature.inputs.input_names()
    return [str(n) for n in names if isinstance(n, str)]


def _signature_columns_from_tag(model_tag: str) -> list[str]:
    import bentoml

    columns: Any = bentoml.models.get(model_tag).info.metadata.get("columns", [])
    return [str(c) for c in columns]
