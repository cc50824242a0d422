"""Write a rendering to a folder: each manifest as YAML, ``kustomization.yaml``, and the
Secret's files under ``secrets/`` (0600) when the values gave them.

Everything is written to a temporary folder beside the target first and then moved in file by
file, so a failure leaves the folder as it was; files the rendering does not name (a person's
own ``secrets/`` files) are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from agents.k8s.render import Rendered
from agents.private import write_private_file
from lifecycle.errors import BadInputError

HEADER = "# Rendered by `deployer k8s render`; apply the folder with `kubectl apply -k DIR`.\n"


def dump(objects: list[dict[str, Any]], comment: str = "") -> str:
    """YAML documents, with the comment's lines at the top."""
    said = "".join(f"# {line}\n" for line in comment.splitlines())
    # Through JSON first: a value used twice (a probe's command) is then written twice, not as
    # a YAML alias that some tools refuse.
    plain = json.loads(json.dumps(objects))
    body = str(yaml.safe_dump_all(plain, sort_keys=False, default_flow_style=False))
    return HEADER + said + body


def write_rendering(out: Path, rendered: Rendered) -> list[Path]:
    """Write ``rendered`` into ``out`` (made when missing); the paths written, relative."""
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        files = {m.filename: dump(m.objects, m.comment) for m in rendered.manifests}
        files["kustomization.yaml"] = dump([rendered.kustomization])
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if rendered.secrets:
            (staging / "secrets").mkdir(mode=0o700)
        for key, value in rendered.secrets.items():
            write_private_file(staging / "secrets" / key, value)
        out.mkdir(mode=0o755, exist_ok=True)
        written = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
        for rel in written:
            (out / rel).parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(staging / rel, out / rel)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
