"""``deployer`` in remote mode: the same commands, carried out by the ops API.

``app`` is the command line ``main`` runs when ``DEPLOYER_API_URL`` is set (see ``remote``).
Each command takes the options its local twin takes (``--by`` aside: the token is the
identity), calls one route and prints what the local command prints for the same data: the
same ``--json`` document, the same rich output (``render``), the same exit codes. Commands
that are local by nature (they start processes or manage this machine's home) and the ones the
API does not offer refuse with one line, exit 2, before anything is sent.

Only what talks to the API is imported up front (no database, MLflow or graph library): the
renderers and the metric parser are imported when they are used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.text import Text

from agents.entrypoints.cli import (
    label_args,
    remote,
    remote_audit,
    remote_capture,
    remote_feedback,
    remote_labels,
    remote_operations,
    remote_quotas,
    remote_resize,
    remote_retraining,
    remote_tenant,
    resource_args,
)
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.remote import URL_ENV, Answer, add_refusals, remote_command
from agents.entrypoints.cli.render_decisions import render_decisions as render
from lifecycle.version_labels import describe_version

AWAITING_APPROVAL_EXIT = 4
NoWait = remote_operations.NoWaitOption
_operation = remote_operations.run_operation  # 202, then followed to its end (issue 19)
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]

app = typer.Typer(
    name="deployer",
    help=f"Promote, deploy, watch and roll back ML models safely (remote mode: {URL_ENV}).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
deployments_app = typer.Typer(help="Deployments the ops API knows.", no_args_is_help=True)
app.add_typer(deployments_app, name="deployments")
for _group, _name in ((remote_audit, "audit"), (remote_capture, "capture"),
                      (remote_retraining, "retraining"), (remote_quotas, "quota"),
                      (remote_tenant, "tenant")):  # fmt: skip
    app.add_typer(_group.app, name=_name)
app.command("retrain")(remote_retraining.retrain)

Name = Annotated[str, typer.Argument(help="Model name.")]
Version = label_args.VersionArgument
LabelOption = label_args.LabelOption
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, in a sentence.")]
CommentOption = Annotated[str, typer.Option("--comment", help="Why.")]


def _path(*parts: str) -> str:
    """A path whose user-given parts are escaped: a name cannot reach another route."""
    return "/".join(quote(p, safe="") for p in parts)


def _revived(value: Any) -> Any:
    """The API's JSON with its timestamps (``at``, ``..._at``) as datetimes again, for the
    renderers; ``--json`` prints the document as the API sent it."""
    if isinstance(value, list):
        return [_revived(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if (key == "at" or key.endswith("_at")) and isinstance(item, str):
            try:
                out[key] = datetime.fromisoformat(item)
                continue
            except ValueError:
                pass
        out[key] = _revived(item)
    return out


def _show(answer: Answer, as_json: bool, render: Callable[[dict[str, Any]], None] | str) -> None:
    """``answer``'s document, or ``render`` (a function, or the name of one in ``render``)."""

    def show() -> None:
        if isinstance(render, str):
            from agents.entrypoints.cli import render as renderers

            getattr(renderers, render)(_revived(answer.body))
        else:
            render(_revived(answer.body))

    emit(answer.body, as_json, show)


def _show_run(answer: Answer, as_json: bool) -> None:
    """A run's result; exit 4 while it waits for an approval, as locally."""
    _show(answer, as_json, "render_run")
    if answer.body.get("status") == "awaiting_approval":
        raise typer.Exit(AWAITING_APPROVAL_EXIT)


@app.command()
def whoami(as_json: JsonOption = False) -> None:
    """Who the token in DEPLOYER_TOKEN is, and its role, as the ops API sees it."""
    with remote_command(as_json) as api:
        result = {**api.get("/v1/whoami").body, "mode": "remote", "api_url": api.url}
        emit(
            result,
            as_json,
            lambda: console.print(
                f"{result['user']} ({result['role']}) at {result['api_url']}", highlight=False
            ),
        )


@app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show each model's versions by stage and its deployments."""
    with remote_command(as_json) as api:
        answer = api.get(f"/v1/status/{remote.model_segment(name)}" if name else "/v1/status")
        _show(answer, as_json, "render_status")


@app.command()
def drift(
    name: Name,
    window: Annotated[str, typer.Option("--window", help="30m, 1h, 1d or seconds.")] = "1h",
    as_json: JsonOption = False,
) -> None:
    """Is the model drifting? Each column's test, p-value, PSI and verdict (nothing written)."""
    from agents.entrypoints.cli.render_drift import render_drift

    with remote_command(as_json) as api:
        _show(
            api.get(f"/v1/models/{remote.model_segment(name)}/drift", {"window": window}),
            as_json,
            render_drift,
        )


@app.command()
def history(
    name: Name,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """A model's timeline and what memory advises for its next rollout."""
    with remote_command(as_json) as api:
        answer = api.get(f"/v1/models/{remote.model_segment(name)}/history", {"limit": limit})
        _show(answer, as_json, "render_history")


@app.command()
def checks(
    name: Annotated[str, typer.Argument(help="Model name (default: every model).")] = "",
    deployment: Annotated[
        str, typer.Option("--deployment", help="Only this deployment's checks.")
    ] = "",
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """The monitor's latest judgements, oldest first."""
    params = {"deployment_id": deployment or None, "limit": limit}
    with remote_command(as_json) as api:
        route = f"/v1/models/{remote.model_segment(name)}/checks" if name else "/v1/checks"
        _show(api.get(route, params), as_json, "render_checks")


@app.command()
def decisions(
    name: Name, limit: Annotated[int, typer.Option()] = 20, as_json: JsonOption = False
) -> None:
    """The monitor agent's decisions about a model, newest first, with reasons."""
    with remote_command(as_json) as api:
        _show(
            api.get(f"/v1/models/{remote.model_segment(name)}/decisions", {"limit": limit}),
            as_json,
            render,
        )


@app.command()
def register(
    name: Name,
    model_uri: Annotated[
        str, typer.Option("--model-uri", help="runs:/... or models:/... (no folders remotely).")
    ],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="K=V, repeatable; adds to the run's.")
    ] = None,
    criteria: Annotated[
        list[str] | None,
        typer.Option(
            "--criteria", help='Success criterion "K>=V" or "K>=production-0.02", repeatable.'
        ),
    ] = None,
    label: LabelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model version (stage development) through the ops API."""
    from agents.handlers.registration import parse_metrics

    with remote_command(as_json) as api:
        body = {
            "model_uri": model_uri,
            "metrics": parse_metrics(metric or []),
            "criteria": list(criteria or []),
            **({"label": label} if label else {}),
        }
        result = api.post(f"/v1/models/{remote.model_segment(name)}/versions", body).body
        emit(
            result,
            as_json,
            lambda: console.print(
                f"registered [bold]{escape(name)}[/] "
                f"{escape(describe_version(result['version'], result.get('label')))} "
                f"({result['stage']}) from {escape(model_uri)}"
            ),
        )


@app.command()
def promote(
    name: Name,
    version: Version,
    to: Annotated[str, typer.Option("--to", help="Target stage (one step forward).")],
    reason: ReasonOption = "",
    no_wait: NoWait = False,
    as_json: JsonOption = False,
) -> None:
    """Move a version to the next stage; production checks its gates and waits for approval."""
    with remote_command(as_json) as api:
        path = f"/v1/models/{remote.model_segment(name)}/versions/{_path(version)}/promote"
        answer = _operation(api, path, {"to_stage": to, "reason": reason}, no_wait, as_json)
    _show_run(answer, as_json)


@app.command()
def deploy(
    name: Name,
    version: Version,
    strategy: resource_args.StrategyOption = None,
    traffic: resource_args.TrafficOption = None,
    replicas: resource_args.ReplicasOption = 1,
    cpu: resource_args.CpuOption = None,
    memory: resource_args.MemoryOption = None,
    autoscale: resource_args.AutoscaleOption = None,
    reason: ReasonOption = "",
    no_wait: NoWait = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy a version behind the gateway; the target follows its stage."""
    body: dict[str, Any] = {"model_name": name, "version": version, "replicas": replicas}
    body |= {"reason": reason, "strategy": strategy, "traffic": traffic}
    body |= {"cpu": cpu, "memory": memory, "autoscale": autoscale}
    sent = {k: v for k, v in body.items() if v is not None}
    with remote_command(as_json) as api:
        answer = _operation(api, "/v1/deployments", sent, no_wait, as_json)
    _show_run(answer, as_json)


@app.command()
def rollback(
    name: Name,
    to: Annotated[
        str | None, typer.Option("--to", help="Deployment id to go back to (default: previous).")
    ] = None,
    undo: Annotated[
        str | None,
        typer.Option("--undo", help="Deployment id to take out of service (not with --to)."),
    ] = None,
    reason: ReasonOption = "",
    no_wait: NoWait = False,
    as_json: JsonOption = False,
) -> None:
    """Switch all traffic back to the previous production deployment, at once."""
    body: dict[str, Any] = {"reason": reason} | ({"to_deployment_id": to} if to else {})
    body |= {"current_deployment_id": undo} if undo else {}
    with remote_command(as_json) as api:
        answer = _operation(
            api, f"/v1/models/{remote.model_segment(name)}/rollback", body, no_wait, as_json
        )
    _show_run(answer, as_json)


@app.command()
def approvals(
    every: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List approvals waiting for a decision (oldest first)."""
    with remote_command(as_json) as api:
        answer = api.get("/v1/approvals", {"all": "true" if every else None})
    _show(answer, as_json, _render_approvals)


def _render_approvals(body: dict[str, Any]) -> None:
    from agents.entrypoints.cli.render import render_approvals

    render_approvals(body["approvals"])


@app.command()
def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id, e.g. apr-1a2b3c4d5e6f.")],
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a waiting promotion (not your own; your token needs the approver role)."""
    with remote_command(as_json) as api:
        answer = api.post(f"/v1/approvals/{_path(approval_id)}/approve", {"comment": comment})
    _show_run(answer, as_json)


@app.command()
def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Reject a waiting promotion (approvers, or the requester withdrawing it)."""
    with remote_command(as_json) as api:
        answer = api.post(f"/v1/approvals/{_path(approval_id)}/reject", {"comment": comment})
    _show_run(answer, as_json)


@app.command()
def resume(
    thread_id: Annotated[str, typer.Argument(help="The thread id of a run cut short.")],
    as_json: JsonOption = False,
) -> None:
    """Take up a run that a crash or a kill cut short; finished steps are not repeated."""
    with remote_command(as_json) as api:
        answer = api.post(f"/v1/runs/{_path(thread_id)}/resume")
    _show_run(answer, as_json)


@deployments_app.command("list")
def deployments_list(
    model: Annotated[str | None, typer.Option("--model", help="Only this model's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """Deployments, newest first, one page at a time."""
    with remote_command(as_json) as api:
        params = {"model_name": model, "limit": limit, "offset": offset}
        answer = api.get("/v1/deployments", params)
    _show(answer, as_json, "render_deployments_page")


@deployments_app.command("show")
def deployments_show(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id.")],
    as_json: JsonOption = False,
) -> None:
    """One deployment: its manifest, routing share, process and health."""
    with remote_command(as_json) as api:
        answer = api.get(f"/v1/deployments/{_path(deployment_id)}")

    def render(d: dict[str, Any]) -> None:
        for key, value in d.items():
            if not isinstance(value, dict | list):
                console.print(Text(f"{key:<28} {value}"))

    _show(answer, as_json, render)


@deployments_app.command("stop")
def deployments_stop(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id.")],
    as_json: JsonOption = False,
) -> None:
    """Stop a deployment's server (refused while the routing table sends it traffic)."""
    with remote_command(as_json) as api:
        answer = api.delete(f"/v1/deployments/{_path(deployment_id)}")
    emit(answer.body, as_json, lambda: console.print(f"stopped {deployment_id}"))


deployments_app.command("change")(remote_resize.change)
app.add_typer(remote_feedback.app, name="feedback")
app.command()(remote_labels.label)
add_refusals(app)
