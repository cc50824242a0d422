"""What a ModelDeployerAgent run's result keeps, defined once for its two callers: the use
cases (``handlers.operations.outcome``: the CLI's, the chat's and the API's result) and the
system graph (``supervisor.spec.deployer_spec``: the deployer's ``AgentResult``). Names of
``model_deployer.state.State`` fields; no import, so both can take it cheaply."""

from __future__ import annotations

RUN_FIELDS = (
    "action",
    "model_name",
    "version",
    "target_stage",
    "version_record",
    "deployment_manifest",
    "rollback_successful",
    "active_deployment_id",
    "approval_id",
)
"""The request and what it did: every caller's result keeps them."""

OUTPUT_KEYS = ("status", *RUN_FIELDS, "verdicts", "advice", "errors", "thread_id")
"""What ``handlers.operations.outcome`` returns, in this order."""

DEPLOYER_OUTPUTS = (*RUN_FIELDS, "approval", "verdicts", "advice", "rollback", "monitor", "run_id")
"""What the system graph keeps of a deployer run (status, errors and handoffs are every
agent's ``COMMON_OUTPUTS``), the tick's ``monitor`` included."""
