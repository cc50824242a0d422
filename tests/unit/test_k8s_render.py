"""``deployer k8s render`` (issue 17 item 5): every rendered object validates against the
official Kubernetes schemas of a pinned version (``kubernetes-validate``, offline) and the
RayCluster against KubeRay's CRD schema kept in tests/data/kuberay; the commands, settings and
probe paths the manifests name are the real ones; values override the defaults; bad values
write nothing. No cluster can be reached here: this is what a cluster would be given."""

from __future__ import annotations

import copy
import importlib.util
import os
import stat
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from agents.entrypoints.cli.groups import GROUPS
from agents.k8s import render as k8s
from agents.k8s.files import write_rendering
from agents.k8s.ray import CLIENT_PORT, ray_cluster
from agents.k8s.values import checked_values, default_values, setting_names
from lifecycle.k8s_values import InvalidValuesError

KUBERNETES = "1.33.0"
"""The Kubernetes version the manifests are validated for (kubernetes-validate's schemas)."""
ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "tests" / "data" / "kuberay" / "ray.io_rayclusters.v1.excerpt.yaml"


def rendered_objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj for m in k8s.render(values).manifests for obj in m.objects]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] in ("Deployment", "Job"):
        return list(obj["spec"]["template"]["spec"]["containers"])
    if obj["kind"] == "RayCluster":
        spec = obj["spec"]
        groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
        return [c for g in groups for c in g["template"]["spec"]["containers"]]
    return []


def strict(schema: Any) -> Any:
    """The CRD excerpt with unknown fields refused (the API server would drop them silently)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def pod_templates(schema: dict[str, Any], obj: Any, path: str = "") -> list[tuple[str, Any]]:
    """The values at the excerpt's ``x-excerpt-pod-template`` markers."""
    if schema.get("x-excerpt-pod-template"):
        return [(path, obj)]
    found: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in obj:
                found += pod_templates(sub, obj[key], f"{path}.{key}")
    if isinstance(obj, list) and "items" in schema:
        for i, item in enumerate(obj):
            found += pod_templates(schema["items"], item, f"{path}[{i}]")
    return found


def validate_ray_cluster(obj: dict[str, Any]) -> None:
    schema = yaml.safe_load(CRD.read_text())["openAPIV3Schema"]
    jsonschema.validate(obj, strict(schema))
    templates = pod_templates(schema, obj)
    assert [p for p, _ in templates] == [
        ".spec.headGroupSpec.template",
        ".spec.workerGroupSpecs[0].template",
    ]
    for _path, template in templates:
        kubernetes_validate.validate(
            {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "t"},
                "template": template,
            },
            KUBERNETES,
            strict=True,
        )


def test_every_rendered_object_validates_against_the_pinned_kubernetes_and_kuberay_schemas() -> (
    None
):
    objects = rendered_objects(default_values())
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        [
            *("Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"),
            *("PodDisruptionBudget", "Deployment", "Service", "Deployment", "RayCluster", "Job"),
        ]
    )
    for obj in objects:
        if obj["kind"] == "RayCluster":
            validate_ray_cluster(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)


@pytest.mark.parametrize(
    "text",
    [
        "settings: {serving: local}\nray: {enabled: false}\n",
        "namespace: team-a\nname: md\nimage: {repository: registry.example/md, tag: v2}\n"
        "settings: {extra: {DEPLOYER_WARM_SECONDS: 600, DEPLOYER_ROLLBACK_PRESET: strict}}\n"
        "ray: {workers: {replicas: 0, minReplicas: 0, maxReplicas: 0}}\n",
    ],
)
def test_rendered_objects_validate_whatever_the_values(tmp_path: Path, text: str) -> None:
    given = tmp_path / "values.yaml"
    given.write_text(text)
    for obj in rendered_objects(checked_values(given)):
        if obj["kind"] == "RayCluster":
            validate_ray_cluster(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)


@pytest.mark.parametrize(
    "breaks",
    [
        lambda o: o["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="Always"),
        lambda o: o["spec"].update(replicas="three"),
    ],
)
def test_the_kubernetes_validation_catches_a_misspelt_field_or_a_wrong_type(breaks: Any) -> None:
    deployment = next(o for o in rendered_objects(default_values()) if o["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    breaks(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


@pytest.mark.parametrize(
    "breaks",
    [
        lambda s: s.update(workerGroupSpec=s.pop("workerGroupSpecs")),  # misspelt
        lambda s: s["workerGroupSpecs"][0].pop("groupName"),  # required
        lambda s: s["headGroupSpec"].update(rayStartParams={"num-cpus": 1}),  # strings only
        lambda s: s["headGroupSpec"]["template"]["spec"]["containers"][0].update(imag="x"),
    ],
)
def test_the_kuberay_validation_catches_a_broken_ray_cluster(breaks: Any) -> None:
    cluster = copy.deepcopy(ray_cluster(default_values()))
    breaks(cluster["spec"])
    with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)):
        validate_ray_cluster(cluster)


def command_of(box: dict[str, Any]) -> list[str]:
    return list(box["command"])


def deployer_command(words: list[str]) -> tuple[str, set[str]]:
    """The ``deployer`` sub-command ``words`` name, and the options it takes."""
    from agents.entrypoints.cli.app import app

    group = typer.main.get_command(app)
    name = words[1]
    sub = group.commands[name]  # type: ignore[attr-defined]
    options = {opt for p in sub.params for opt in getattr(p, "opts", [])}
    return name, options


def test_the_rendered_commands_are_real_entry_points_with_real_options() -> None:
    seen = set()
    for obj in rendered_objects(default_values()):
        for box in containers(obj):
            if "command" not in box:
                continue  # a Ray node: KubeRay runs `ray start` itself
            words = command_of(box)
            flags = {w for w in words if w.startswith("--")}
            if words[:2] == ["python", "-m"]:
                assert importlib.util.find_spec(words[2]) is not None, words
                seen.add(words[2])
            else:
                assert words[0] == "deployer", words
                name, options = deployer_command(words)
                assert flags <= options, (name, flags - options)
                seen.add(name)
            for probe in ("livenessProbe", "startupProbe"):
                run = box.get(probe, {}).get("exec", {}).get("command")
                if run:
                    assert run[:2] == ["python", "-m"] and importlib.util.find_spec(run[2])
    assert seen == {"agents.entrypoints.gateway", "api", "watch", "init"}
    # `deployer` is the package's console script
    assert 'deployer = "agents.entrypoints.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert "k8s" in dict(GROUPS)


def test_the_gateway_entry_point_accepts_the_rendered_arguments(monkeypatch: Any) -> None:
    from agents.entrypoints import gateway

    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(gateway, "serve", lambda *args: served.append(args))
    [box] = containers(
        next(o for o in rendered_objects(default_values()) if o["kind"] == "Deployment")
    )
    gateway.main(command_of(box)[3:])
    assert served == [("0.0.0.0", 8080, True, 10.0)]


def test_every_rendered_variable_is_a_real_setting_or_a_known_telemetry_switch() -> None:
    values = default_values()
    values["settings"]["extra"] = {"DEPLOYER_WARM_SECONDS": "600"}
    names = set(k8s.config_map(values)["data"]) | set(k8s.SECRET_KEYS.values())
    for obj in rendered_objects(values):
        for box in containers(obj):
            names |= {e["name"] for e in box.get("env", [])}
    unknown = names - setting_names() - set(k8s.TELEMETRY_OFF)
    assert not unknown, unknown
    assert set(k8s.TELEMETRY_OFF) == {
        "MLFLOW_DISABLE_TELEMETRY",
        "BENTOML_DO_NOT_TRACK",
        "DO_NOT_TRACK",
        "RAY_USAGE_STATS_ENABLED",
    }
    assert {"DEPLOYER_SERVING", "DEPLOYER_RAY_ADDRESS", "DEPLOYER_WATCH_HEALTH_FILE"} <= names


def test_the_ray_address_names_the_head_service_kuberay_makes() -> None:
    values = default_values()
    data = k8s.config_map(values)["data"]
    cluster = ray_cluster(values)
    assert data["DEPLOYER_RAY_ADDRESS"] == (
        f"ray://{cluster['metadata']['name']}-head-svc.{values['namespace']}.svc:{CLIENT_PORT}"
    )
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert CLIENT_PORT in {p["containerPort"] for p in head["ports"]}
    values["settings"]["serving"], values["ray"]["enabled"] = "local", False
    assert "DEPLOYER_RAY_ADDRESS" not in k8s.config_map(values)["data"]
    assert "ray-cluster.yaml" not in k8s.render(values).kustomization["resources"]


def test_every_control_plane_container_is_non_root_limited_and_fed_from_config_and_secret() -> None:
    for obj in rendered_objects(default_values()):
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
        [box] = pod["containers"]
        assert box["securityContext"]["readOnlyRootFilesystem"] is True
        assert box["securityContext"]["allowPrivilegeEscalation"] is False
        assert set(box["resources"]) == {"requests", "limits"}
        refs = {next(iter(r.values()))["name"] for r in box["envFrom"]}
        assert refs == {"deployer-config", "deployer-secrets"}
        assert "livenessProbe" in box or obj["kind"] == "Job"
        if box["name"] == "gateway":  # drained before it stops
            assert box["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        if box["name"] == "watcher":  # the tick in progress may finish
            assert pod["terminationGracePeriodSeconds"] >= 120


def test_values_override_the_defaults_key_by_key(tmp_path: Path) -> None:
    given = tmp_path / "values.yaml"
    given.write_text(
        "namespace: ml\nimage: {tag: '2.0'}\ngateway: {replicas: 5, minReplicas: 4,"
        " resources: {limits: {memory: 1Gi}}}\nwatcher: {intervalSeconds: 30}\n"
    )
    values = checked_values(given)
    objects = {(o["kind"], o["metadata"]["name"]): o for o in rendered_objects(values)}
    gw = objects[("Deployment", "deployer-gateway")]
    assert gw["metadata"]["namespace"] == "ml" and gw["spec"]["replicas"] == 5
    [box] = gw["spec"]["template"]["spec"]["containers"]
    assert box["image"] == "model-deployer:2.0"
    assert box["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}  # cpu kept
    assert objects[("HorizontalPodAutoscaler", "deployer-gateway")]["spec"]["minReplicas"] == 4
    [watcher] = objects[("Deployment", "deployer-watcher")]["spec"]["template"]["spec"][
        "containers"
    ]
    assert watcher["command"][-2:] == ["--interval", "30"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("gatway: {replicas: 2}\n", "unknown values key gatway"),
        ("gateway: {replicas: two}\n", "gateway.replicas must be a number"),
        ("gateway: [1, 2]\n", "values key gateway must be a mapping"),
        ("gateway: {replicas: 2\n", "not valid YAML"),
        ("- a list\n", "must be a mapping"),
        ("gateway: {minAvailable: 3}\n", "minAvailable must be below"),
        ("api: {resources: {limits: {memory: lots}}}\n", "api.resources.limits.memory"),
        ("settings: {extra: {DEPLOYER_NOPE: '1'}}\n", "DEPLOYER_NOPE, which is not a setting"),
        ("settings: {extra: {DEPLOYER_DATABASE_URL: x}}\n", "is a secret"),
        ("namespace: Prod_1\n", "DNS label"),
    ],
)
def test_a_bad_values_file_is_one_clear_error_and_writes_nothing(
    tmp_path: Path, text: str, says: str
) -> None:
    given, out = tmp_path / "values.yaml", tmp_path / "out"
    given.write_text(text)
    with pytest.raises(InvalidValuesError, match=says) as caught:
        write_rendering(out, k8s.render(checked_values(given)))
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["values.yaml"]


def test_the_folder_holds_the_manifests_its_kustomization_lists_and_no_default_secret(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    written = write_rendering(out, k8s.render(default_values()))
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        str(p) for p in written if str(p) != "kustomization.yaml"
    )
    [generator] = kustomization["secretGenerator"]
    assert generator["name"] == "deployer-secrets"
    assert sorted(f.split("=")[0] for f in generator["files"]) == sorted(k8s.SECRET_KEYS.values())
    # No secret given: none written, so `kubectl apply -k` fails on the missing files.
    assert not (out / "secrets").exists()
    for name in kustomization["resources"]:
        text = (out / name).read_text()
        assert "&id" not in text and "*id" not in text  # plain YAML, no aliases
        assert all(isinstance(o, dict) for o in yaml.safe_load_all(text))


def test_given_secrets_are_written_private_and_a_person_s_own_files_are_kept(
    tmp_path: Path,
) -> None:
    given, out = tmp_path / "values.yaml", tmp_path / "out"
    given.write_text("secrets: {databaseUrl: 'postgresql://u:p@db/deployer', auditKey: k}\n")
    (out / "secrets").mkdir(parents=True)
    (out / "secrets" / "DEPLOYER_GATEWAY_TOKEN").write_text("mine")
    write_rendering(out, k8s.render(checked_values(given)))
    url = out / "secrets" / "DEPLOYER_DATABASE_URL"
    assert url.read_text() == "postgresql://u:p@db/deployer"
    assert stat.S_IMODE(os.stat(url).st_mode) == 0o600
    assert (out / "secrets" / "DEPLOYER_GATEWAY_TOKEN").read_text() == "mine"
    assert "postgresql://" not in "".join(p.read_text() for p in out.glob("*.yaml"))


def test_the_command_says_which_secrets_are_missing_and_a_bad_file_is_one_line(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from agents.entrypoints.cli import k8s as cli_k8s

    out = tmp_path / "out"
    done = CliRunner().invoke(cli_k8s.app, ["--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    result = yaml.safe_load(done.stdout)
    assert result["secrets_missing"] == sorted(k8s.SECRET_KEYS.values())
    assert "kustomization.yaml" in result["files"] and (out / "gateway.yaml").is_file()

    bad = tmp_path / "bad.yaml"
    bad.write_text("watcher: {replicas: 0}\n")
    refused = CliRunner().invoke(
        cli_k8s.app, ["--out", str(tmp_path / "other"), "--values", str(bad)]
    )
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        "error: values key watcher.replicas must be a whole number from 1, not 0"
    ]
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("0.1.0", "deployer-migrate-0-1-0"),
        ("V2.0_rc1", "deployer-migrate-v2-0-rc1"),
        ("2026.11.30-abcdef1234", "deployer-migrate-2026-11-30-abc"),
        ("___", "deployer-migrate-image"),
    ],
)
def test_each_image_tag_migrates_the_database_in_a_job_of_its_own(tag: str, name: str) -> None:
    values = default_values()
    values["image"]["tag"] = tag
    job = k8s.migrate_job(values)
    assert job["metadata"]["name"] == name
    kubernetes_validate.validate(job, KUBERNETES, strict=True)
    [box] = job["spec"]["template"]["spec"]["containers"]
    assert box["command"] == ["deployer", "init", "--json"]
    assert box["image"] == f"model-deployer:{tag}"
