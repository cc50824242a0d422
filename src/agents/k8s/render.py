"""Values -> the control plane's Kubernetes objects (pure: plain dicts, no I/O).

Three workloads run the one control-plane image: the gateway (``python -m
agents.entrypoints.gateway``, a Deployment with an HPA, a PodDisruptionBudget and a Service), the
ops API (``deployer api``, a Deployment and a Service) and the watcher (``deployer watch``, one
Deployment). Their settings come from one ConfigMap and one Secret (kustomize makes the Secret
from ``secrets/`` files: ``files.py``). Serving on Ray is a KubeRay ``RayCluster`` (``ray.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agents.k8s.ray import ray_cluster, ray_head_address

Obj = dict[str, Any]

UID = 10001
"""The image's non-root user (the Dockerfile's ``deployer``)."""
HOME = "/var/lib/deployer"
"""An emptyDir: the deployer home (``DEPLOYER_HOME`` is a folder inside it, made 0700)."""
HEARTBEAT = "/tmp/deployer-watch.alive"
"""The watcher's heartbeat file (``DEPLOYER_WATCH_HEALTH_FILE``) on the ``/tmp`` emptyDir."""
SECRET_KEYS = {
    "databaseUrl": "DEPLOYER_DATABASE_URL",
    "gatewayToken": "DEPLOYER_GATEWAY_TOKEN",
    "auditKey": "DEPLOYER_AUDIT_KEY",
}
"""values ``secrets.*`` -> the setting each one is."""
TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}
"""Third-party variables rendered beside the settings: every library's telemetry off."""
GATEWAY_COMMAND = ["python", "-m", "agents.entrypoints.gateway"]
API_COMMAND = ["deployer", "api"]
WATCH_COMMAND = ["deployer", "watch"]
INIT_COMMAND = ["deployer", "init", "--json"]
ALIVE_COMMAND = ["python", "-m", "agents.entrypoints.watch_alive"]
HEALTH_PATH = "/healthz"
"""The gateway's and the ops API's health route (both answer once they serve)."""


@dataclass(frozen=True)
class Manifest:
    """One file of the rendered folder: its objects and a comment at its top."""

    filename: str
    objects: list[Obj]
    comment: str = ""


@dataclass(frozen=True)
class Rendered:
    """Everything ``deployer k8s render`` writes."""

    manifests: list[Manifest]
    kustomization: Obj
    secrets: dict[str, str] = field(default_factory=dict)
    """``secrets/<SETTING>`` file contents (the values file's; empty when it gave none)."""


def labels(values: Obj, component: str) -> dict[str, str]:
    """The labels of a component's objects (its selector is the same set)."""
    return {
        "app.kubernetes.io/name": values["name"],
        "app.kubernetes.io/part-of": "model-deployer",
        "app.kubernetes.io/component": component,
    }


def meta(values: Obj, component: str, suffix: str = "") -> Obj:
    """An object's metadata: ``<name>-<component>`` in the values' namespace."""
    return {
        "name": f"{values['name']}-{suffix or component}",
        "namespace": values["namespace"],
        "labels": labels(values, component),
    }


def config_map(values: Obj) -> Obj:
    """The non-secret settings every control-plane container reads."""
    ns, name, s = values["namespace"], values["name"], values["settings"]
    data = {
        "DEPLOYER_HOME": f"{HOME}/home",
        "DEPLOYER_SERVING": s["serving"],
        "MLFLOW_TRACKING_URI": s["mlflowTrackingUri"],
        "DEPLOYER_GATEWAY_URL": f"http://{name}-gateway.{ns}.svc:{values['gateway']['port']}",
        "DEPLOYER_WATCH_HEALTH_FILE": HEARTBEAT,
        **TELEMETRY_OFF,
    }
    if s["serving"] == "ray":
        data["DEPLOYER_RAY_ADDRESS"] = ray_head_address(values)
    data.update({str(k): str(v) for k, v in s["extra"].items()})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(values, "config"),
        "data": data,
    }


def container(values: Obj, name: str, command: list[str], resources: Obj) -> Obj:
    """A control-plane container: the image, env from the ConfigMap and the Secret, non-root on
    a read-only root file system (``/tmp`` and the home are emptyDirs)."""
    image = values["image"]
    return {
        "name": name,
        "image": f"{image['repository']}:{image['tag']}",
        "imagePullPolicy": image["pullPolicy"],
        "command": command,
        "envFrom": [
            {"configMapRef": {"name": f"{values['name']}-config"}},
            {"secretRef": {"name": f"{values['name']}-secrets"}},
        ],
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "home", "mountPath": HOME}],
    }


def pod_security() -> Obj:
    """Every pod runs as the image's non-root user, with the runtime's default seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def deployment(values: Obj, component: str, replicas: int, box: Obj) -> Obj:
    """A Deployment of one control-plane container."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(values, component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels(values, component)},
            "template": {
                "metadata": {"labels": labels(values, component)},
                "spec": {
                    "securityContext": pod_security(),
                    "containers": [box],
                    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "home", "emptyDir": {}}],
                },
            },
        },
    }


def http_probe(period: int, failures: int) -> Obj:
    """GET /healthz on the container's ``http`` port."""
    return {
        "httpGet": {"path": HEALTH_PATH, "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


def service(values: Obj, component: str, port: int) -> Obj:
    """A ClusterIP Service in front of a component's pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(values, component),
        "spec": {
            "selector": labels(values, component),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def gateway(values: Obj) -> list[Obj]:
    """The gateway: Deployment, Service, HPA (CPU) and PodDisruptionBudget."""
    g = values["gateway"]
    command = [*GATEWAY_COMMAND, "--host", "0.0.0.0", "--port", str(g["port"])]
    box = container(values, "gateway", command, g["resources"])
    box["ports"] = [{"name": "http", "containerPort": g["port"], "protocol": "TCP"}]
    # /healthz answers once the first routing table is loaded (the app's start-up loads it).
    box["readinessProbe"] = http_probe(5, 2)
    box["livenessProbe"] = {**http_probe(10, 3), "initialDelaySeconds": 10}
    # Keep serving while the Service stops sending here, then SIGTERM (aiohttp drains).
    box["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(values, "gateway"),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": f"{values['name']}-gateway",
            },
            "minReplicas": g["minReplicas"],
            "maxReplicas": g["maxReplicas"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": g["targetCpuPercent"],
                        },
                    },
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(values, "gateway"),
        "spec": {
            "minAvailable": g["minAvailable"],
            "selector": {"matchLabels": labels(values, "gateway")},
        },
    }
    return [
        deployment(values, "gateway", g["replicas"], box),
        service(values, "gateway", g["port"]),
        hpa,
        pdb,
    ]


def api(values: Obj) -> list[Obj]:
    """The ops API: Deployment and Service."""
    a = values["api"]
    box = container(
        values, "api", [*API_COMMAND, "--host", "0.0.0.0", "--port", str(a["port"])], a["resources"]
    )
    box["ports"] = [{"name": "http", "containerPort": a["port"], "protocol": "TCP"}]
    box["readinessProbe"] = http_probe(5, 2)
    box["livenessProbe"] = {**http_probe(10, 3), "initialDelaySeconds": 20}
    return [deployment(values, "api", a["replicas"], box), service(values, "api", a["port"])]


def watcher(values: Obj) -> list[Obj]:
    """The watcher: one Deployment, alive while its loop touches the heartbeat file."""
    w = values["watcher"]
    command = [*WATCH_COMMAND, "--interval", f"{w['intervalSeconds']:g}"]
    box = container(values, "watcher", command, w["resources"])
    alive = {"exec": {"command": [*ALIVE_COMMAND, HEARTBEAT, f"{w['livenessMaxAgeSeconds']:g}"]}}
    # The first beat comes once the loop starts (after the agents are built): up to 5 minutes.
    box["startupProbe"] = {
        **alive,
        "periodSeconds": 10,
        "failureThreshold": 30,
        "timeoutSeconds": 10,
    }
    box["livenessProbe"] = {
        **alive,
        "periodSeconds": 30,
        "failureThreshold": 2,
        "timeoutSeconds": 10,
    }
    watcher = deployment(values, "watcher", w["replicas"], box)
    # SIGTERM ends the loop after the tick in progress (a rollback may restart a server).
    watcher["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 120
    return [watcher]


def migrate_job(values: Obj) -> Obj:
    """A Job that runs ``deployer init`` (migrate the state database to this image's schema;
    the image's user becomes the first admin when there is none). Every other part refuses a
    database at another revision and restarts until this has run. Named by the image tag: a
    new release is a new Job (a Job's pod template cannot change in place)."""
    tag = re.sub(r"[^a-z0-9-]+", "-", values["image"]["tag"].lower()).strip("-")[:14].strip("-")
    box = container(values, "migrate", INIT_COMMAND, values["watcher"]["resources"])
    job = deployment(values, "migrate", 1, box)  # the same pod, run to completion
    pod = job["spec"]["template"]
    pod["spec"]["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(values, "migrate", f"migrate-{tag or 'image'}"),
        "spec": {"backoffLimit": 10, "ttlSecondsAfterFinished": 86400, "template": pod},
    }


def namespace(values: Obj) -> Obj:
    """The namespace the objects live in."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": values["namespace"]}}


def render(values: Obj) -> Rendered:
    """Every manifest, the kustomization that lists them and the Secret's files."""
    manifests = [
        Manifest("namespace.yaml", [namespace(values)]),
        Manifest("config.yaml", [config_map(values)], "Non-secret settings (env of every part)."),
        Manifest(
            "migrate.yaml",
            [migrate_job(values)],
            "Migrates the state database (`deployer init`); re-running it changes nothing.",
        ),
        Manifest("gateway.yaml", gateway(values), "The traffic gateway, scaled on CPU."),
        Manifest("api.yaml", api(values), "The ops API (`deployer api`)."),
        Manifest(
            "watcher.yaml",
            watcher(values),
            "The watcher (`deployer watch`). One replica ticks: the database lease makes any\n"
            "extra replica (or the old pod during a rolling update) a standby that waits.",
        ),
    ]
    if values["ray"]["enabled"]:
        manifests.append(
            Manifest(
                "ray-cluster.yaml",
                [ray_cluster(values)],
                "Serving for DEPLOYER_SERVING=ray (needs the KubeRay operator).",
            )
        )
    given = {SECRET_KEYS[k]: str(v) for k, v in values["secrets"].items() if v}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": values["namespace"],
        "resources": [m.filename for m in manifests],
        "secretGenerator": [
            {
                "name": f"{values['name']}-secrets",
                "files": [f"{key}=secrets/{key}" for key in SECRET_KEYS.values()],
            }
        ],
    }
    return Rendered(manifests, kustomization, given)
