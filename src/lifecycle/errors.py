"""The one error hierarchy of model-deployer.

Every error a person can see derives from :class:`ModelDeployerError`. Each class says how the
CLI should exit (DESIGN.md section 6: 2 bad input, 3 refused by a gate or a permission, 4 waiting
for approval, 1 anything else) and whether trying the same call again may help.
"""

from __future__ import annotations

from collections.abc import Sequence


class ModelDeployerError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code: int = 1
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


DeployerError = ModelDeployerError
"""The name STYLE.md uses for the same base class."""


class BadInputError(ModelDeployerError):
    """The caller asked for something malformed or unknown; nothing was changed."""

    exit_code = 2


class UnknownModelError(BadInputError):
    """No model, version or deployment by that name exists."""


class InvalidPromotionPathError(BadInputError):
    """A stage move that ALLOWED_TRANSITIONS does not permit."""


class InvalidStatusChangeError(BadInputError):
    """A deployment status change that the status machine does not permit."""


class InvalidDeploymentActionError(BadInputError):
    """The agent was asked for an action it does not know."""


class InvalidPlanError(BadInputError):
    """A strategy was given parameters that cannot make a valid plan."""


class ConfigurationError(BadInputError):
    """A setting (database URL, home folder, tracking URI) is unusable."""


class AmbiguousModelNameError(BadInputError):
    """A new model name reads like a registered model's (it differs only by case or
    punctuation: ``lifecycle.names.fold_model_name``); nothing was registered."""


class RefusedError(ModelDeployerError):
    """A gate or a permission said no; nothing was changed."""

    exit_code = 3


class ProductionCriteriaNotMetError(RefusedError):
    """Promotion to production refused; ``unmet`` lists every criterion that failed."""

    def __init__(self, message: str, unmet: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.unmet = list(unmet)


class PermissionDeniedError(RefusedError):
    """The actor lacks the role, or tried to approve their own request."""


class ForeignArtifactError(RefusedError):
    """An artifact a version names (its ``preprocessing_uri``) is not one of its own run's
    artifacts; nothing was packaged."""


class UnapprovedRouteError(RefusedError):
    """A routing table would give users' traffic (or the mirror) to a deployment whose stage
    was not approved for it; nothing was changed."""


class ConflictError(ModelDeployerError):
    """Someone else changed the same thing first; re-read and try again."""

    exit_code = 3
    retryable = True


class ApprovalMismatchError(ConflictError):
    """An answer names another approval than the one its run waits on: refused, nothing
    changed (an answer to an earlier request never decides a later one on the same thread)."""

    retryable = False


class AwaitingApprovalError(ModelDeployerError):
    """The action is paused until a person approves it."""

    exit_code = 4

    def __init__(self, message: str, approval_id: str) -> None:
        super().__init__(message)
        self.approval_id = approval_id


class InfrastructureError(ModelDeployerError):
    """A real component (database, registry, server) failed; a retry may help."""

    exit_code = 1
    retryable = True


class RollbackFailedError(InfrastructureError):
    """A rollback could not be done, for instance because there is nothing to go back to."""

    retryable = False


class DeploymentFailedError(InfrastructureError):
    """A deploy step failed; the previous routing is in place and the new deployment is failed."""

    retryable = False


class EndpointCreationError(InfrastructureError):
    """An endpoint did not become ready; ``log_tail`` holds the server's last log lines."""

    def __init__(self, message: str, log_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.log_tail = list(log_tail)


class AuditChainBrokenError(ModelDeployerError):
    """The audit log's hash chain does not verify: a row was changed or removed."""

    exit_code = 1


class InvalidModelDirectoryError(BadInputError):
    """What was given to package is not an MLflow model (no readable ``MLmodel``)."""


class PortInUseError(BadInputError):
    """The port asked for an endpoint is already taken; nothing was started."""


class InvalidRouteError(BadInputError):
    """A routing table that cannot be applied (weights not summing to 100, unknown deployment)."""


class NonFiniteMetricError(BadInputError):
    """A metric that is not a finite number (NaN, inf): it would pass or break every gate."""


class UnknownOperationError(UnknownModelError):
    """No long-running operation by that id (or none the caller may see)."""


class QuotaExceededError(RefusedError):
    """A deploy would take its tenant beyond a quota (``lifecycle.quotas``): well formed, refused
    by what the tenant already runs, so the CLI exits 3 and the ops API answers 409; nothing was
    written or started. Freeing what the message names (or a larger quota) lets the same
    request pass."""
