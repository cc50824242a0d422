"""``build_graph(deps)``: the ModelDeployerAgent's LangGraph graph, uncompiled.

Callers compile it with a checkpointer (approvals and crash recovery need one) and run one
thread per request::

    intake -> check_promotion -> [request_approval -> await_approval -> record_decision]
                              -> apply_promotion
           -> plan_deploy -> package -> start_endpoint -> apply_steps -> finish_deploy
                          -> update_traffic                (any failed step -> fail_deploy)
           -> plan_rollback -> restore_endpoint -> switch_traffic -> record_rollback
           -> check_health -> act_on_health        (monitor: one tick over every rollout)
    finish_deploy | update_traffic | fail_deploy | record_rollback | act_on_health
           -> move_aliases    (@champion/@challenger follow the routing table)
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.model_deployer.aliases import NODE as ALIAS_NODE
from agents.model_deployer.deploy import DeployNodes, next_or_fail
from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.health import HealthChecks
from agents.model_deployer.intake import IntakeNode, route_action
from agents.model_deployer.monitor import MonitorNodes
from agents.model_deployer.promote import PromoteNodes
from agents.model_deployer.rollback import RollbackNodes, add_rollback_flow
from agents.model_deployer.share import ShareNodes
from agents.model_deployer.state import InputState, State

GRAPH_NAME = "model_deployer"


def build_graph(deps: DeployerDeps) -> StateGraph[State, None, InputState, State]:
    """The deployer's graph over ``deps``; compile it with a checkpointer to run it."""
    graph = StateGraph(State, input_schema=InputState, output_schema=State)
    graph.add_node("intake", IntakeNode(deps))
    graph.add_edge(START, "intake")
    graph.add_conditional_edges("intake", route_action)
    _promote(graph, PromoteNodes(deps))
    _deploy(graph, DeployNodes(deps), ShareNodes(deps))
    add_rollback_flow(graph, RollbackNodes(deps))
    monitor = MonitorNodes(deps)
    graph.add_node("check_health", HealthChecks(deps).check)
    graph.add_node("act_on_health", monitor.act)
    graph.add_edge("check_health", "act_on_health")
    graph.add_edge("act_on_health", ALIAS_NODE)  # added by the rollback flow; ends in END
    return graph


def _promote(graph: StateGraph[State, None, InputState, State], nodes: PromoteNodes) -> None:
    graph.add_node("check_promotion", nodes.check)
    graph.add_node("request_approval", nodes.request_approval)
    graph.add_node(
        "await_approval", nodes.await_approval, destinations=("await_approval", "record_decision")
    )
    graph.add_node("record_decision", nodes.record_decision)
    graph.add_node("apply_promotion", nodes.apply)
    graph.add_conditional_edges("check_promotion", nodes.needs_approval)
    graph.add_edge("request_approval", "await_approval")
    graph.add_conditional_edges("record_decision", nodes.after_decision)
    graph.add_edge("apply_promotion", END)


def _deploy(
    graph: StateGraph[State, None, InputState, State], nodes: DeployNodes, share: ShareNodes
) -> None:
    graph.add_node("plan_deploy", nodes.plan)
    graph.add_node("package", nodes.package)
    graph.add_node("start_endpoint", nodes.start_endpoint)
    graph.add_node("apply_steps", nodes.apply_steps)
    graph.add_node("finish_deploy", nodes.finish)
    graph.add_node("update_traffic", share.update_traffic)
    graph.add_node("fail_deploy", nodes.fail)
    graph.add_conditional_edges("plan_deploy", nodes.after_plan)
    graph.add_conditional_edges("package", next_or_fail("start_endpoint"))
    graph.add_conditional_edges("start_endpoint", next_or_fail("apply_steps"))
    graph.add_conditional_edges("apply_steps", next_or_fail("finish_deploy"))
    graph.add_edge("finish_deploy", ALIAS_NODE)
    graph.add_edge("update_traffic", ALIAS_NODE)
    graph.add_edge("fail_deploy", ALIAS_NODE)
