"""``/v1/models/{name}/feedback`` and ``/v1/models/{name}/quality``: ground truth for captured
predictions, and each deployment's rolling quality against its approval (as ``deployer feedback
import`` and ``deployer feedback show``).

Sending labels needs the deployer role: roles here are one ordered scale (``lifecycle.approval``)
with no per-action permissions, and a label changes what the watcher judges (a drop raises an
alert), so it is a change, not a read. A labelling service gets a deployer's token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.deps import ContainerDep, Deployer, Viewer
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import ModelName
from agents.handlers.feedback import record_feedback
from agents.queries.quality import quality_report
from lifecycle.feedback_rows import Row, body_rows
from lifecycle.quality import LABEL_PATTERN, MAX_WINDOW_SECONDS

router = APIRouter(prefix="/v1/models", tags=["feedback"])

MAX_ITEMS = 10_000


class FeedbackItem(BaseModel):
    """The true label of one captured request."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(
        pattern=r"^[!-~]{1,64}$",
        description="The request's X-Request-Id, as the gateway returned it.",
    )
    label: (
        Annotated[float, Field(strict=True, allow_inf_nan=False)]
        | Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=LABEL_PATTERN)]
    ) = Field(description="The true class (a name or a number) or value.")


FeedbackBody = Annotated[
    FeedbackItem | Annotated[list[FeedbackItem], Field(min_length=1, max_length=MAX_ITEMS)],
    Body(description="One label, or a batch (all or nothing)."),
]


@router.post("/{name}/feedback", responses=error_responses(404, 409, 502))
async def feedback(
    name: ModelName,
    body: FeedbackBody,
    user: Deployer,
    c: ContainerDep,
    replace: Annotated[bool, Query(description="Replace labels already given.")] = False,
) -> JSONResponse:
    """Record the true labels of captured requests. A batch is all or nothing: a malformed item
    is 422 naming it; a request that already has a different label is 409 unless ``replace``;
    the same label again changes nothing. Request ids no captured prediction has (yet) are kept
    and listed as ``unmatched``."""
    items = body if isinstance(body, list) else [body]
    rows: list[Row] = body_rows([item.model_dump() for item in items])
    result = await run_in_threadpool(record_feedback, c, name, rows, user.name, replace)
    return json_response(result)


@router.get("/{name}/quality", responses=error_responses(404))
async def quality(
    name: ModelName,
    user: Viewer,
    c: ContainerDep,
    window: Annotated[
        float, Query(ge=1, le=MAX_WINDOW_SECONDS, description="Seconds of captured predictions.")
    ] = 3600.0,
) -> JSONResponse:
    """Each deployment's rolling accuracy and F1 (classifier) or MAE (regressor) over the
    window's labelled predictions, the metric its version was approved on, and the verdict."""
    return json_response(await run_in_threadpool(quality_report, c, name, window))
