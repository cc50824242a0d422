"""The production watch's settings (issue 14): service levels, prediction capture, drift,
quality from feedback and alerts. ``agents.settings.Settings`` extends this class, so every
field is read from its environment variable like the rest."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lifecycle.slo import Objectives


class WatchSettings(BaseSettings):
    """Objectives, capture, drift, quality and alert settings, with their defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    quality_margin: float = Field(default=0.05, ge=0, validation_alias="DEPLOYER_QUALITY_MARGIN")
    """How far (absolute) a deployment's rolling accuracy/F1 may fall below, or its MAE rise
    above, the value its version was approved on before ``deployer watch`` calls a drop."""

    quality_min_labelled: int = Field(
        default=50, ge=1, validation_alias="DEPLOYER_QUALITY_MIN_LABELLED"
    )
    """Labelled predictions a deployment needs in the window before quality is judged (fewer:
    ``inconclusive``)."""

    quality_window_seconds: float = Field(
        default=86400.0, gt=0, validation_alias="DEPLOYER_QUALITY_WINDOW_SECONDS"
    )
    """The rolling window of captured predictions ``deployer watch`` judges quality over."""

    quality_tasks_text: str = Field(default="", validation_alias="DEPLOYER_QUALITY_TASKS")
    """Per-model task types over what the version's metric names say:
    ``house_prices=regression,iris=classification``."""

    @field_validator("quality_tasks_text")
    @classmethod
    def _known_tasks(cls, value: str) -> str:
        parse_quality_tasks(value)
        return value

    @property
    def quality_tasks(self) -> dict[str, str]:
        """DEPLOYER_QUALITY_TASKS as {model: task type}."""
        return parse_quality_tasks(self.quality_tasks_text)

    alert_suppress_seconds: float = Field(
        default=600.0, ge=0, validation_alias="DEPLOYER_ALERT_SUPPRESS_SECONDS"
    )
    """A repeat of an alert (same kind, model and deployment) to a channel within this many
    seconds is recorded as suppressed, not sent."""

    alert_max_attempts: int = Field(default=5, ge=1, validation_alias="DEPLOYER_ALERT_MAX_ATTEMPTS")
    """How many times a delivery is tried (with exponential backoff) before it is failed."""

    alert_backoff_seconds: float = Field(
        default=5.0, gt=0, validation_alias="DEPLOYER_ALERT_BACKOFF_SECONDS"
    )
    """The wait before a failed delivery's first retry; it doubles with each retry (10 min cap)."""

    alert_send_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="DEPLOYER_ALERT_SEND_TIMEOUT_SECONDS"
    )
    """How long one delivery may take (connect and answer) before it counts as failed."""

    alert_dispatch_seconds: float = Field(
        default=2.0, gt=0, validation_alias="DEPLOYER_ALERT_DISPATCH_SECONDS"
    )
    """How often ``deployer watch``'s alert dispatcher (a thread beside the ticks) looks for new
    audit events and due deliveries."""
    capture_retention_seconds: float = Field(
        default=7 * 24 * 3600.0, gt=0, validation_alias="DEPLOYER_CAPTURE_RETENTION_SECONDS"
    )
    """How long captured predictions are kept (the gateways delete older ones, once a minute)."""

    capture_max_rows: int = Field(
        default=100_000, ge=1, validation_alias="DEPLOYER_CAPTURE_MAX_ROWS"
    )
    """The most captured predictions kept per model (the newest; the gateways delete the rest)."""
    # -- drift (issue 14, items 3 and 4) ---------------------------------------------------

    reference_max_rows: int = Field(
        default=5000, ge=1, le=1_000_000, validation_alias="DEPLOYER_REFERENCE_MAX_ROWS"
    )
    """At most this many rows of a reference file (or logged dataset) are kept as a version's
    drift reference, sampled reproducibly."""
    drift_alpha: float = Field(default=0.05, gt=0, lt=1, validation_alias="DEPLOYER_DRIFT_ALPHA")
    """A column's Holm-corrected p-value must be below this for drift."""
    drift_psi_threshold: float = Field(
        default=0.2, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_DRIFT_PSI_THRESHOLD"
    )
    """...and its population stability index at least this (0.1 moderate, 0.2 large shift)."""
    drift_min_samples: int = Field(default=100, ge=1, validation_alias="DEPLOYER_DRIFT_MIN_SAMPLES")
    """Rows each side needs before a column is judged; fewer is "inconclusive"."""
    drift_window_seconds: float = Field(
        default=3600.0, gt=0, validation_alias="DEPLOYER_DRIFT_WINDOW_SECONDS"
    )
    """The window of captured predictions a watch tick's drift check reads."""
    drift_every_ticks: int = Field(default=10, ge=1, validation_alias="DEPLOYER_DRIFT_EVERY_TICKS")
    """``deployer watch`` checks drift on its first tick and every this many after it."""
    slo_error_rate: float | None = Field(
        default=0.05, ge=0, le=1, validation_alias="DEPLOYER_SLO_ERROR_RATE"
    )
    """Default service-level objective: errors per request at most (a model's own overrides it)."""

    slo_p95_ms: float | None = Field(default=None, gt=0, validation_alias="DEPLOYER_SLO_P95_MS")
    """Default absolute p95 objective in ms (unset: none)."""

    slo_p99_ms: float | None = Field(default=None, gt=0, validation_alias="DEPLOYER_SLO_P99_MS")
    """Default absolute p99 objective in ms (unset: none)."""

    slo_latency_factor: float | None = Field(
        default=3.0, ge=1, validation_alias="DEPLOYER_SLO_LATENCY_FACTOR"
    )
    """Default relative objective: p95 and p99 at most this many times the deployment's own
    over its trailing baseline."""

    slo_min_requests: int = Field(default=20, ge=1, validation_alias="DEPLOYER_SLO_MIN_REQUESTS")
    """Fewer requests in the SLO window is inconclusive, never ok."""

    slo_window_seconds: float = Field(
        default=300.0, gt=0, validation_alias="DEPLOYER_SLO_WINDOW_SECONDS"
    )
    """The trailing window each tick judges a deployment's service levels on."""

    slo_baseline_seconds: float = Field(
        default=3600.0, gt=0, validation_alias="DEPLOYER_SLO_BASELINE_SECONDS"
    )
    """The period before the window that relative objectives compare with."""

    slo_guard_window_seconds: float = Field(
        default=3600.0, ge=0, validation_alias="DEPLOYER_SLO_GUARD_WINDOW_SECONDS"
    )
    """After a release completes, how long the replaced deployment stays warm and an SLO
    breach rolls back to it on its own; later a breach only proposes the rollback."""

    @property
    def slo_objectives(self) -> Objectives:
        """The default service-level objectives (``DEPLOYER_SLO_*``)."""
        return Objectives(
            error_rate=self.slo_error_rate,
            p95_ms=self.slo_p95_ms,
            p99_ms=self.slo_p99_ms,
            latency_factor=self.slo_latency_factor,
            min_requests=self.slo_min_requests,
        )


def parse_quality_tasks(text: str) -> dict[str, str]:
    """``"a=regression, b=classification"`` -> {"a": "regression", ...}; ValueError otherwise."""
    tasks: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, task = item.partition("=")
        if task.strip().lower() not in ("classification", "regression") or not name.strip():
            raise ValueError(f"{item!r} is not MODEL=classification or MODEL=regression")
        tasks[name.strip()] = task.strip().lower()
    return tasks
