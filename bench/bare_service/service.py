"""The baseline service a user writes by hand: an MLflow model imported into BentoML.

Used only by bench/control_plane.py to measure the bare path against ours.
"""

from __future__ import annotations

import bentoml
import numpy as np
import pandas as pd

MODEL_TAG = "bench-bare:latest"


@bentoml.service(workers=1)
class Bare:
    def __init__(self) -> None:
        self.model = bentoml.mlflow.load_model(MODEL_TAG)
        schema = self.model.metadata.get_input_schema()
        self.columns = schema.input_names() if schema is not None else None

    @bentoml.api
    def predict(self, instances: list[list[float]]) -> dict[str, list[int]]:
        # The signature names the columns, and MLflow enforces it: a bare array is refused.
        frame = pd.DataFrame(np.asarray(instances, dtype=float), columns=self.columns)
        return {"predictions": [int(p) for p in self.model.predict(frame)]}
