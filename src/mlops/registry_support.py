"""What the MLflow registry adapter needs beside MLflow: the name mapping and artifact paths.

MLflow refuses ``/`` in a registered model's name, so a model of a tenant is registered under
its flat name (``team-a/fraud`` -> ``team-a~fraud``, ``lifecycle.tenants.flat_name``); a
default-tenant model's name is the same in both forms. ``read_back`` is the way back: a name in
MLflow that is not exactly the flat form of one qualified name is returned as it is, so sync
reports it (register would refuse it) instead of adopting it under another name.
"""

from __future__ import annotations

from lifecycle.errors import BadInputError, ForeignArtifactError
from lifecycle.tenants import flat_name, from_flat_name


def mlflow_name(model_name: str) -> str:
    """The registered model name in MLflow of the (qualified) ``model_name``."""
    return flat_name(model_name)


def read_back(registered: str) -> str:
    """The qualified name of MLflow's ``registered`` name, or ``registered`` itself when it
    is not, exactly, the flat form of one (``default~iris``, ``Team~x``, ``a/b``)."""
    try:
        qualified = from_flat_name(registered)
    except BadInputError:
        return registered
    return qualified if flat_name(qualified) == registered else registered


def own_artifact_path(uri: str, run_id: str | None, run_artifact_uri: str | None) -> str:
    """The path inside the run of ``uri`` when it is one of run ``run_id``'s own artifacts
    (``runs:/<run_id>/<path>`` or ``<the run's artifact URI>/<path>``, no ``..``); any other
    URI (a local path, ``file://``, ``http``, another run) is a ``ForeignArtifactError``."""
    prefixes = [f"runs:/{run_id}/"] if run_id else []
    if run_id and run_artifact_uri:
        prefixes.append(run_artifact_uri.rstrip("/") + "/")
    path = next((uri[len(p) :] for p in prefixes if uri.startswith(p)), None)
    parts = (path or "").split("/")
    if path is None or any(part in ("", ".", "..") or "\\" in part for part in parts):
        raise ForeignArtifactError(
            f"preprocessing_uri {uri!r} is not an artifact of the version's own run "
            f"({run_id or 'none'}); only runs:/{run_id or '<run id>'}/<path> is packaged"
        )
    return path


def quote(name: str) -> str:
    """``name`` inside single quotes of an MLflow search filter."""
    return name.replace("'", "''")


def first_line(text: str) -> str:
    """The first line of a vendor message, or ``unknown error``."""
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "unknown error"
