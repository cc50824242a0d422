"""The API's error shape and status codes: chosen by error class, one line, no traceback."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from agents.entrypoints.api.errors import (
    DeploymentInUseError,
    DeploymentNotAdjustableError,
    NotAuthenticatedError,
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


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotAuthenticatedError("no token"), 401),
        (PermissionDeniedError("four eyes"), 403),
        (UnknownModelError("no model"), 404),
        (BadInputError("bad"), 422),
        (InvalidPromotionPathError("dev to prod"), 422),
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
