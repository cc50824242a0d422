"""What runs inside each Ray Serve replica: the deployment's bento, served as ``bentoml serve``
serves it.

The bento's folder reaches the replica through Ray's own mechanism: it is the application's
``runtime_env`` ``working_dir``, which Ray zips, uploads to the cluster's GCS and unpacks on
whichever node runs the replica, so no node reads a path of the deploying machine. The replica
loads the bento from there with BentoML's own loader (its service code, its model store,
preprocessing included) and serves the service's ASGI app (``/predict``, ``/model_info``, and
BentoML's ``/readyz``, ``/livez``) behind Serve's ingress. The app's lifespan start loads the
model, exactly as a ``bentoml serve`` worker does.

This module is pickled by value (``serving_ray`` registers it), so a node needs Ray and
BentoML installed, not this project.
"""

from __future__ import annotations

import os
from typing import Any


def replica_class() -> Any:
    """The Serve deployment class (built on call: importing Ray takes a second)."""
    from ray import serve

    @serve.ingress()
    class BentoReplica:
        """One replica of a deployment: the bento in the working folder, loaded once."""

        def __init__(self) -> None:
            import bentoml

            # standalone: the bento's own model store, not the node's BentoML home
            self.service = bentoml.load(os.getcwd(), standalone_load=True)

        def __serve_build_asgi_app__(self) -> Any:
            return self.service.to_asgi()  # type: ignore[union-attr]

    return BentoReplica
