"""Train a small scikit-learn classifier on a CSV of features and labels, and log it to the
MLflow run the Project started (MLFLOW_RUN_ID): the model (name ``model``, its signature and
explicit pip requirements, so MLflow infers nothing) and its training metrics. No network.

``deployer retraining set iris --project examples/retraining/iris --param C=1.0`` runs it with
``train_data`` the window's training file (feature columns named as the model's signature and
a ``label`` column). A tiny ``C`` (``--param C=0.00001``) trains a model that predicts one
class: a worse candidate, for drills.
"""

from __future__ import annotations

import argparse

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

PIP_REQUIREMENTS = ["scikit-learn", "numpy", "pandas"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-data", required=True)
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-iter", type=float, default=500)
    args = parser.parse_args()

    frame = pd.read_csv(args.train_data)
    labels = frame.pop(args.label_column)
    model = LogisticRegression(C=args.C, max_iter=int(args.max_iter))
    model.fit(frame, labels)
    predicted = model.predict(frame)
    with mlflow.start_run():  # the Project's run (MLFLOW_RUN_ID)
        mlflow.log_metrics(
            {
                "train_accuracy": float(accuracy_score(labels, predicted)),
                "train_f1_macro": float(f1_score(labels, predicted, average="macro")),
                "train_rows": float(len(frame)),
            }
        )
        mlflow.sklearn.log_model(
            model,
            name="model",
            pip_requirements=PIP_REQUIREMENTS,
            signature=infer_signature(frame, predicted),
        )


if __name__ == "__main__":
    main()
