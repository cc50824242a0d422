"""The KubeRay ``RayCluster`` that serves models for ``DEPLOYER_SERVING=ray``.

A ``RayCluster``, not a ``RayService``: a RayService owns its Serve applications (its
``serveConfigV2`` is the whole truth, and KubeRay redeploys it, or replaces the cluster, when it
changes), while here the deployer creates and deletes one Serve application per deployment as
canaries progress and roll back. So the cluster is long-lived and the deployer, through
``DEPLOYER_RAY_ADDRESS`` (the head service's Ray client port), owns the applications. The Ray
nodes run the control-plane image (built with ``INSTALL_RAY=true``), so a replica runs the same
package and bento code as a local endpoint.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

CLIENT_PORT = 10001
"""Ray client (``ray://``), what the watcher and the CLI connect to."""
PORTS = {"gcs": 6379, "dashboard": 8265, "client": CLIENT_PORT, "serve": 8000}


def cluster_name(values: Obj) -> str:
    """The RayCluster's name (KubeRay names its head service ``<name>-head-svc``)."""
    return f"{values['name']}-ray"


def ray_head_address(values: Obj) -> str:
    """``DEPLOYER_RAY_ADDRESS`` for the rendered cluster: the head service's client port."""
    return f"ray://{cluster_name(values)}-head-svc.{values['namespace']}.svc:{CLIENT_PORT}"


def _node(values: Obj, name: str, resources: Obj, ports: dict[str, int]) -> Obj:
    """A Ray node's pod template: non-root, telemetry off, the settings' env (MLflow URI)."""
    image = values["ray"]["image"] or f"{values['image']['repository']}:{values['image']['tag']}"
    box = {
        "name": name,
        "image": image,
        "imagePullPolicy": values["image"]["pullPolicy"],
        "env": [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"}],
        "envFrom": [{"configMapRef": {"name": f"{values['name']}-config"}}],
        "resources": resources,
        "ports": [{"name": k, "containerPort": v, "protocol": "TCP"} for k, v in ports.items()],
        # Ray writes its session files under /tmp/ray and its workers' into the home:
        # a writable root file system, but no privileges.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "ray-tmp", "mountPath": "/tmp/ray"}],
    }
    return {
        "metadata": {"labels": {"app.kubernetes.io/part-of": "model-deployer"}},
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [box],
            "volumes": [{"name": "ray-tmp", "emptyDir": {}}],
        },
    }


def ray_cluster(values: Obj) -> Obj:
    """The RayCluster: a head and one worker group, sized by the values; Ray's autoscaler
    moves the workers between ``minReplicas`` and ``maxReplicas``."""
    ray, ns = values["ray"], values["namespace"]
    workers = ray["workers"]
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {
            "name": cluster_name(values),
            "namespace": ns,
            "labels": {
                "app.kubernetes.io/name": values["name"],
                "app.kubernetes.io/part-of": "model-deployer",
                "app.kubernetes.io/component": "ray",
            },
        },
        "spec": {
            "rayVersion": ray["rayVersion"],
            "enableInTreeAutoscaling": workers["maxReplicas"] > workers["minReplicas"],
            "headGroupSpec": {
                "serviceType": "ClusterIP",
                "rayStartParams": {"dashboard-host": "0.0.0.0"},
                "template": _node(values, "ray-head", ray["head"]["resources"], PORTS),
            },
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": workers["replicas"],
                    "minReplicas": workers["minReplicas"],
                    "maxReplicas": workers["maxReplicas"],
                    "rayStartParams": {},
                    "template": _node(values, "ray-worker", workers["resources"], {}),
                }
            ],
        },
    }
