"""The agent's commands: promote, approvals, approve, reject, deploy, rollback, resume, history,
checks, criteria, demo, chat, watch. ``app`` registers them on the ``deployer`` app.

A promotion waiting for approval prints its approval id and exits 4 (DESIGN.md section 6).
The agent's commands build a typed command (``agents.commands``) from the options as typed and
hand it to ``operations.execute``; the intake judges what was typed, as on every other path.
"""

from __future__ import annotations

import faulthandler
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from agents.bootstrap import Container
from agents.commands import AS_ASKED, AgentCommand, Approve, Deploy, Promote, Reject, Rollback
from agents.entrypoints.cli.labels import VersionArgument
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.render import render_approvals, render_run
from agents.entrypoints.cli.resource_args import (
    AutoscaleOption,
    CpuOption,
    MemoryOption,
    ReplicasOption,
    StrategyOption,
    TrafficOption,
)
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import operations
from agents.handlers.registration import parse_metrics, set_criteria

AWAITING_APPROVAL_EXIT = 4

ThreadOption = Annotated[
    str | None,
    typer.Option("--thread", help="Run on this thread id (give it again to resume the same run)."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, in a sentence.")]


def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionArgument,
    to: Annotated[str, typer.Option("--to", help="Target stage (one step forward).")],
    reason: ReasonOption = "",
    thread: ThreadOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a version to the next stage; production checks its gates and waits for approval."""
    with command(as_json) as c:
        asked = {"model_name": name, "version": version, "target_stage": to, "reason": reason}
        result = _execute(c, Promote.model_validate({**asked, "thread_id": thread}))
        emit(result, as_json, lambda: render_run(result))
    _exit_if_waiting(result)


def approvals(
    every: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List approvals waiting for a decision (oldest first)."""
    with command(as_json) as c:
        rows = operations.list_approvals(c, every)
        emit({"approvals": rows}, as_json, lambda: render_approvals(rows))


def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id, e.g. apr-1a2b3c4d5e6f.")],
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a waiting promotion (not your own; you need the approver role) and finish it."""
    _decide(approval_id, "approve", comment, as_json)


def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Reject a waiting promotion (approvers, or the requester withdrawing it)."""
    _decide(approval_id, "reject", comment, as_json)


def _decide(approval_id: str, decision: str, comment: str, as_json: bool) -> None:
    with command(as_json) as c:
        answer = Approve if decision == "approve" else Reject
        result = _execute(c, answer(approval_id=approval_id, comment=comment))
        emit(result, as_json, lambda: render_run(result))
    _exit_if_waiting(result)


def deploy(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionArgument,
    strategy: StrategyOption = None,
    traffic: TrafficOption = None,
    replicas: ReplicasOption = 1,
    cpu: CpuOption = None,
    memory: MemoryOption = None,
    autoscale: AutoscaleOption = None,
    reason: ReasonOption = "",
    thread: ThreadOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy a version behind the gateway; the target follows its stage. With --traffic on a
    canary or shadow already running, only its share changes."""
    with command(as_json) as c:
        asked = {"model_name": name, "version": version, "strategy": strategy, "traffic": traffic}
        more = {"replicas": replicas, "reason": reason, "thread_id": thread}
        more |= {"cpu": cpu, "memory": memory, "autoscale": autoscale}
        # AS_ASKED: a share out of range is the intake's to refuse, after the model and version.
        request = Deploy.model_validate({**asked, **more}, context=AS_ASKED)
        result = _execute(c, request)
        emit(result, as_json, lambda: render_run(result))


def rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Deployment id to go back to (default: previous).")
    ] = None,
    undo: Annotated[
        str | None,
        typer.Option("--undo", help="Deployment id to take out of service (not with --to)."),
    ] = None,
    reason: ReasonOption = "",
    thread: ThreadOption = None,
    as_json: JsonOption = False,
) -> None:
    """Switch all traffic back to the previous production deployment, at once."""
    with command(as_json) as c:
        request = Rollback(
            model_name=name,
            to_deployment_id=to,
            undo_deployment_id=undo,
            reason=reason,
            thread_id=thread,
        )
        result = _execute(c, request)
        emit(result, as_json, lambda: render_run(result))


def resume(
    thread_id: Annotated[str, typer.Argument(help="The thread id of a run cut short.")],
    as_json: JsonOption = False,
) -> None:
    """Take up a run that a crash or a kill cut short; finished steps are not repeated."""
    with command(as_json) as c:
        result = operations.resume_run(c, thread_id)
        emit(result, as_json, lambda: render_run(result))
    _exit_if_waiting(result)


def history(
    name: Annotated[str, typer.Argument(help="Model name.")],
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """A model's timeline: stage changes, deployments, approvals, rollbacks, and what memory
    advises for its next rollout."""
    from agents.entrypoints.cli.render import render_history
    from agents.queries.history import model_history

    with command(as_json) as c:
        result = model_history(c, name, limit)
        emit(result, as_json, lambda: render_history(result))


def checks(
    name: Annotated[str, typer.Argument(help="Model name (default: every model).")] = "",
    deployment: Annotated[
        str, typer.Option("--deployment", help="Only this deployment's checks.")
    ] = "",
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """The monitor's latest judgements, oldest first: every wait, advance and rollback, with
    the figures and the gates' verdicts behind it (why a canary has not moved on)."""
    from agents.entrypoints.cli.render import render_checks
    from agents.queries.checks import health_checks

    with command(as_json) as c:
        result = health_checks(c, name, deployment, limit)
        emit(result, as_json, lambda: render_checks(result))


def criteria(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionArgument,
    rules: Annotated[
        list[str],
        typer.Argument(
            help='Success criteria like "accuracy>=0.9" or "accuracy>=production-0.02".'
        ),
    ],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Also record metric K=V, repeatable.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set a version's success criteria (they replace the old ones), and optionally metrics."""
    with command(as_json) as c:
        result = set_criteria(
            c.uow, name, version, rules, parse_metrics(metric or []), c.settings.user
        )
        emit(
            result,
            as_json,
            lambda: console.print(
                f"{name} v{result['version']} criteria: {', '.join(result['criteria'])}",
                markup=False,
            ),
        )


def _execute(c: Container, request: AgentCommand) -> dict[str, Any]:
    """Carry out ``request`` as the local identity (the OS user running the command)."""
    return operations.execute(c, request, c.settings.user, "cli")


def _exit_if_waiting(result: dict[str, Any]) -> None:
    if result.get("status") == "awaiting_approval":
        raise typer.Exit(AWAITING_APPROVAL_EXIT)


def demo(
    home: Annotated[
        str | None, typer.Option("--home", help="Work in this folder (default: a fresh one).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The whole story end to end on embedded defaults: train, register, promote with approval,
    deploy behind a gateway, shadow, canary, roll back. Leaves nothing running."""
    from pathlib import Path

    from agents.entrypoints.cli.output import err_console, fail
    from agents.entrypoints.demo import run_demo

    try:
        result = run_demo(
            Path(home).resolve() if home else None, err_console if as_json else console
        )
    except Exception as exc:
        fail(exc, as_json)
    emit(result, as_json, lambda: None)


def chat(
    text: Annotated[
        str | None, typer.Argument(help='A command in words, e.g. "promote churn v2 to staging".')
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Say what to do in words; without TEXT, an interactive prompt ('help' lists the commands)."""
    from agents.entrypoints.chat.chat import answer

    with command(as_json) as c:
        actor = c.settings.user
        if text is not None:
            reply = answer(c, text, actor)
            emit(
                reply.as_dict(),
                as_json,
                lambda: console.print(reply.reply, highlight=False, markup=False),
            )
            code = reply.exit_code
        else:
            code = _chat_prompt(c, actor)
    if code:
        raise typer.Exit(code)


def _chat_prompt(c: Any, actor: str) -> int:
    from agents.entrypoints.chat.chat import answer

    console.print(f"model-deployer chat as {escape(actor)}; 'help' lists commands, 'exit' leaves.")
    while True:
        try:
            text = console.input("[bold]deployer>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if text.strip().lower() in ("exit", "quit", "bye"):
            return 0
        if text.strip():
            console.print(answer(c, text, actor).reply, highlight=False, markup=False)


def watch(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between ticks.", min=0.1)
    ] = 10.0,
    once: Annotated[
        bool, typer.Option("--once", help="One tick, then exit (cron, systemd timer, CronJob).")
    ] = False,
    model: Annotated[
        str, typer.Option("--model", help="Watch only this model (default: every model).")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Health ticks on a schedule: judge every canary, shadow and warm deployment, move canaries
    on, roll back failures, restart dead endpoints. One watcher per database ticks; others wait
    as standbys. SIGTERM stops it after the tick in progress. With --json, one JSON document
    per tick, one per line."""
    from agents.entrypoints.watch import stop_on_signals
    from agents.entrypoints.watch import watch as run_watch

    said: dict[str, tuple[str, str]] = {}

    def report(tick: dict[str, Any]) -> None:
        if as_json:
            sys.stdout.write(json.dumps(tick, default=str) + "\n")
            sys.stdout.flush()
        else:
            _render_tick(tick, said)

    # `kill -USR1 PID` prints every thread's stack to stderr: what a stuck tick waits on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with command(as_json) as c, stop_on_signals() as stop:
        run_watch(c, interval, once, report, model, stop)


def _render_tick(tick: dict[str, Any], said: dict[str, tuple[str, str]]) -> None:
    """One line per check that says something new: waiting and observing are printed when they
    begin (or their verdict changes), every action each time."""
    when = time.strftime("%H:%M:%S")
    key = "standby" if tick["status"] == "standby" else "idle" if not tick["checks"] else ""
    if key and said.get("", ("",))[0] != key:
        text = (
            f"standby: {tick['holder']} holds the watch lease"
            if key == "standby"
            else "nothing to watch"
        )
        console.print(f"{when} {text}", highlight=False, markup=False)
    said[""] = (key, "")
    for check in tick["checks"]:
        now = (check["action"], check["status"])
        if check["action"] in ("wait", "observe") and said.get(check["deployment_id"]) == now:
            continue
        said[check["deployment_id"]] = now
        colour = {"failed": "red", "passed": "green"}.get(check["status"], "yellow")
        console.print(
            f"{when} {escape(check['deployment_id'])} [{colour}]{escape(check['action'])}[/] "
            f"({escape(check['status'])}): {escape(check['outcome'] or check['message'])}",
            highlight=False,
        )
    for healed in tick.get("healed") or []:
        said_text = escape(f"({healed['message']}): {healed['outcome']}")
        console.print(
            f"{when} {escape(healed['deployment_id'])} "
            f"[red]stuck deploy: {healed['action']}[/] {said_text}",
            highlight=False,
        )
    for q in tick.get("quality") or []:  # quality from feedback: said when its verdict changes
        if said.get(f"quality:{q['deployment_id']}") != ("quality", q["verdict"]):
            said[f"quality:{q['deployment_id']}"] = ("quality", q["verdict"])
            text = f"{when} {q['deployment_id']} quality {q['verdict']}: {q['summary']}"
            console.print(text, highlight=False, markup=False)
    for d in tick.get("decisions") or []:  # the monitor agent's: said when it changed
        if d["recorded"]:
            text = f"{when} {d['model_name']} decided {d['action']}: {'; '.join(d['reasons'])}"
            console.print(text, highlight=False, markup=False)
    sys.stdout.flush()


COMMANDS: tuple[Callable[..., None], ...] = (
    promote,
    approvals,
    approve,
    reject,
    deploy,
    rollback,
    resume,
    history,
    checks,
    criteria,
    demo,
    chat,
    watch,
)
