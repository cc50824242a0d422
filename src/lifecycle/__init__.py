"""The pure domain of model-deployer: stages, statuses, strategies, gates, records, errors, ports.

Nothing here does I/O or imports an infrastructure library; everything is a value or a function.
"""

from lifecycle.errors import (
    ConflictError,
    EndpointCreationError,
    InvalidDeploymentActionError,
    InvalidPromotionPathError,
    ModelDeployerError,
    ProductionCriteriaNotMetError,
    RollbackFailedError,
)
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.records import DeploymentManifest, VersionRecord
from lifecycle.rollback import PRESETS, RollbackConfig, RollbackPreset, rollback_preset
from lifecycle.stages import (
    ALLOWED_TRANSITIONS,
    DeploymentStatus,
    ModelStage,
    change_status,
    transition,
)
from lifecycle.strategies import StrategyName, plan

__all__ = [
    "ALLOWED_TRANSITIONS",
    "PRESETS",
    "ConflictError",
    "DeploymentManifest",
    "DeploymentStatus",
    "EndpointCreationError",
    "InvalidDeploymentActionError",
    "InvalidPromotionPathError",
    "ModelDeployerError",
    "ModelStage",
    "PerformanceMetrics",
    "ProductionCriteriaNotMetError",
    "RollbackConfig",
    "RollbackFailedError",
    "RollbackPreset",
    "ShadowStats",
    "StrategyName",
    "VersionRecord",
    "change_status",
    "plan",
    "rollback_preset",
    "transition",
]
