"""The API's error shape and status codes: chosen by error class, one line, no traceback."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from agents.entrypoints.api.errors import (
    COMMON,
    BodyTooLargeError,
    DeploymentInUseError,
    DeploymentNotAdjustableError,
    ErrorEnvelope,
    NotAuthenticatedError,
    error_responses,
    install_error_handlers,
    status_for,
)
from lifecycle.errors import (
    AuditChainBrokenError,
    AwaitingApprovalError,
    BadInputError,
    ConfigurationError,
    ConflictError,
    DeploymentFailedError,
    EndpointCreationError,
    InfrastructureError,
    InvalidPromotionPathError,
    ModelDeployerError,
    PermissionDeniedError,
    ProductionCriteriaNotMetError,
    RollbackFailedError,
    UnknownModelError,
)
from mlops.registry_mlflow import InvalidModelUriError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotAuthenticatedError("no token"), 401),
        (PermissionDeniedError("four eyes"), 403),
        (UnknownModelError("no model"), 404),
        (BadInputError("bad"), 422),
        (InvalidModelUriError("no MLflow model at runs:/x"), 404),
        (BodyTooLargeError("over 1 MiB"), 413),
        # A well-formed move the version's current stage does not allow: a refusal, not bad input
        # (the same request succeeds once the version has moved on).
        (InvalidPromotionPathError("dev to prod"), 409),
        (ConfigurationError("bad setting"), 422),
        (ProductionCriteriaNotMetError("gates", ["accuracy"]), 409),
        (DeploymentInUseError("routed"), 409),
        (DeploymentNotAdjustableError("direct"), 409),
        (ConflictError("raced"), 409),
        (RollbackFailedError("nothing to roll back"), 409),
        (InfrastructureError("db down"), 503),
        (EndpointCreationError("not ready"), 503),
        (DeploymentFailedError("smoke failed"), 502),
        (AwaitingApprovalError("waiting", "apr-1"), 202),
        (AuditChainBrokenError("broken"), 500),
        (ModelDeployerError("other"), 500),
    ],
)
def test_the_status_follows_the_error_class(error: ModelDeployerError, status: int) -> None:
    assert status_for(error) == status


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int


def _client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refused")
    async def refused() -> None:
        raise ProductionCriteriaNotMetError("v2 cannot go to production yet\nsecond line", ["a"])

    @app.get("/leak")
    async def leak() -> None:
        raise InfrastructureError("cannot reach http://bob:hunter2@mlflow:5000/api?token=t")

    @app.put("/things")
    async def replace(thing: Thing) -> Thing:
        return thing

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail\n  File 'x.py', line 1")

    @app.post("/things")
    async def things(thing: Thing) -> Thing:
        return thing

    return TestClient(app)


def test_a_typed_error_is_one_line_in_the_error_shape() -> None:
    answer = _client().get("/refused")
    assert answer.status_code == 409
    assert answer.json() == {
        "error": {
            "type": "ProductionCriteriaNotMetError",
            "message": "v2 cannot go to production yet",
            "unmet": ["a"],
        }
    }


def test_an_unexpected_error_is_a_500_without_its_detail_or_a_traceback() -> None:
    answer = _client().get("/boom")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {
            "type": "RuntimeError",
            "message": "unexpected RuntimeError; the server log has details",
        }
    }


def test_validation_errors_and_unknown_routes_use_the_same_shape() -> None:
    client = _client()
    bad = client.post("/things", json={"size": "big", "colour": "red"})
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "type": "RequestValidationError",
        "message": "body.size: Input should be a valid integer, unable to parse string as an "
        "integer (and 1 more problem)",
    }
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"type": "NotFound", "message": "Not Found"}}


def test_an_error_message_never_shows_a_uris_password() -> None:
    answer = _client().get("/leak")
    assert answer.status_code == 503
    assert answer.json()["error"]["message"] == (
        "cannot reach http://bob:***@mlflow:5000/api?token=***"
    )


def test_a_method_not_allowed_names_every_method_of_the_path() -> None:
    answer = _client().delete("/things")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST, PUT"
    assert answer.json()["error"]["type"] == "MethodNotAllowed"


def test_every_documented_error_status_has_the_error_envelope() -> None:
    documented = error_responses(404, 409)
    assert sorted(documented) == sorted({*COMMON, 404, 409})
    assert COMMON == (400, 401, 403, 413, 422, 500, 503)
    assert {entry["model"] for entry in documented.values()} == {ErrorEnvelope}
    assert all(entry["description"] for entry in documented.values())
    assert sorted(error_responses(413, 500, common=False)) == [413, 500]


def test_the_server_log_of_an_unexpected_error_hides_a_uris_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("lost postgresql://app:s3cret@db/x")

    with caplog.at_level("ERROR"):
        assert TestClient(app).get("/crash").status_code == 500
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "postgresql://app:***@db/x" in logged
    assert "s3cret" not in logged
