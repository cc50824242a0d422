"""The RetrainingAgent: retrain a model as an MLflow Project on a window of captured,
labelled traffic, register the new version with its lineage, evaluate it against production
on the same held-out rows, and hand a version that beats or matches it to the deployer."""

from agents.retraining.deps import RetrainingDeps, RetrainingRules
from agents.retraining.graph import GRAPH_NAME, build_graph
from agents.retraining.state import InputState, State

__all__ = ["GRAPH_NAME", "InputState", "RetrainingDeps", "RetrainingRules", "State", "build_graph"]
