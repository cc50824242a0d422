"""``deployer k8s render``: the control plane as Kubernetes manifests (``agents.k8s``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agents.entrypoints.cli.output import console, emit, fail
from agents.entrypoints.cli.shared import JsonOption

app = typer.Typer(help="Run the control plane on Kubernetes.")


@app.command("render")
def render(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the manifests into.")],
    values_file: Annotated[
        Path | None, typer.Option("--values", help="A YAML file laid over the default values.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the gateway, ops API, watcher, Ray cluster, ConfigMap and kustomization as plain
    manifests (apply with `kubectl apply -k DIR`). Bad values write nothing."""
    from agents.k8s.files import write_rendering
    from agents.k8s.render import SECRET_KEYS, render
    from agents.k8s.values import checked_values

    try:
        rendered = render(checked_values(values_file))
        written = write_rendering(out, rendered)
    except (SystemExit, KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        fail(exc, as_json)
    missing = sorted(set(SECRET_KEYS.values()) - set(rendered.secrets))
    result = {"out": str(out), "files": [str(p) for p in written], "secrets_missing": missing}

    def show() -> None:
        console.print(f"wrote {len(written)} files to {out}", highlight=False, markup=False)
        if missing:
            console.print(
                f"before `kubectl apply -k {out}`: put {', '.join(missing)} in {out}/secrets/ "
                "(one file each; apply fails until they exist)",
                highlight=False,
                markup=False,
            )

    emit(result, as_json, show)
