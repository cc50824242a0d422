"""Settings, read from the environment (pydantic-settings) with embedded defaults.

``DEPLOYER_HOME`` (default ``./.deployer``) holds everything a laptop run needs: the SQLite state
database, the MLflow store, the BentoML store and the logs of the servers we start.

Who acts is never a setting. A local command acts as the OS user running it
(``local_identity``: the password database's name for the effective uid, not ``$USER``); roles
are bindings in the state database that an admin grants (``deployer access grant``). The
variables that once claimed an identity or a role (``RETIRED``) are refused, not ignored, so
nobody believes they still work.
"""

from __future__ import annotations

import os
import pwd
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from agents.private import ensure_private_dir, write_private_file
from agents.settings_gateway import GatewaySettings
from lifecycle.errors import ConfigurationError
from lifecycle.rollback import RollbackPreset


class Settings(GatewaySettings):
    """Where state lives and who is acting. Every field can be set by its environment variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    home: Path = Field(default=Path(".deployer"), validation_alias="DEPLOYER_HOME")
    """Folder for the embedded defaults: state DB, MLflow store, BentoML store, logs."""

    database_url_override: str | None = Field(
        default=None, validation_alias="DEPLOYER_DATABASE_URL"
    )
    """SQLAlchemy URL of the state DB; ``postgresql+psycopg://...`` for PostgreSQL."""

    tracking_uri_override: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    """MLflow tracking (and registry) URI; default an SQLite store in the home."""

    gateway_token_override: str | None = Field(
        default=None, validation_alias="DEPLOYER_GATEWAY_TOKEN"
    )
    """Bearer token of the gateway's admin API; default a random one kept in the home."""

    audit_key_override: str | None = Field(default=None, validation_alias="DEPLOYER_AUDIT_KEY")
    """The audit chain's HMAC key; default a random one kept in the home (``audit_key()``)."""
    audit_verify_every_ticks: int = Field(
        default=60, ge=1, validation_alias="DEPLOYER_AUDIT_VERIFY_EVERY_TICKS"
    )
    """``deployer watch`` verifies the audit chain on its first tick and every this many."""
    model_lock_wait_seconds: float = Field(
        default=300.0, gt=0, validation_alias="DEPLOYER_MODEL_LOCK_WAIT_SECONDS"
    )
    """How long a user's flow waits for another operation's hold on its model to end."""
    model_lock_seconds: float = Field(
        default=60.0, gt=0, validation_alias="DEPLOYER_MODEL_LOCK_SECONDS"
    )
    """A model lock's expiry (its holder renews it while it works; a dead one loses it)."""
    serving: Literal["local", "ray"] = Field(default="local", validation_alias="DEPLOYER_SERVING")
    """Where endpoints run: ``local`` (a ``bentoml serve`` process on this machine per
    deployment) or ``ray`` (a Ray Serve application per deployment, on the cluster at
    ``DEPLOYER_RAY_ADDRESS``; needs the ``model-deployer[ray]`` extra)."""
    ray_address: str = Field(default="auto", validation_alias="DEPLOYER_RAY_ADDRESS")
    """The Ray cluster for ``DEPLOYER_SERVING=ray``: ``auto`` (the cluster this machine
    joined with ``ray start``), ``ray://head:10001`` or ``head:6379``."""
    ray_serve_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias="DEPLOYER_RAY_SERVE_URL",
        pattern=r"^https?://[^/\s]+/?$",
    )
    """Where the gateway reaches Ray Serve's HTTP proxy (on the head node); each deployment is
    served under ``<this URL>/<deployment id>``. The deployer starts Serve with its proxy on
    this port when Serve is not running yet."""
    gateway_url: str = Field(
        default="http://127.0.0.1:8080", validation_alias="DEPLOYER_GATEWAY_URL"
    )
    """Where clients reach the gateway (comma-separate several replicas)."""

    gateway_flush_seconds: float = Field(
        default=2.0, gt=0, validation_alias="DEPLOYER_GATEWAY_FLUSH_SECONDS"
    )
    """How often a gateway writes its figures to the state DB: a monitoring tick judges no
    fresher data than this. 1 s did not shorten bench/rollback.py's fault-to-stable median
    (5.04 s at both), so the default stays at 2 s and half the writes."""

    stale_figures_ticks: int = Field(
        default=3, ge=1, validation_alias="DEPLOYER_STALE_FIGURES_TICKS"
    )
    """Monitoring ticks in a row without a fresh gateway report of a live canary, blue-green
    or shadow deployment before it is rolled back ("figures stale")."""

    stale_figures_seconds: float = Field(
        default=30.0, gt=0, validation_alias="DEPLOYER_STALE_FIGURES_SECONDS"
    )
    """How old the last gateway report must be as well (ticks quicker than the flushes are no
    silence): with the defaults, a canary whose gateways stopped reporting is rolled back on
    the first tick at which 30 s have passed and 3 ticks have seen no report."""

    shadow_sample_bodies_text: str = Field(
        default="", validation_alias="DEPLOYER_SHADOW_SAMPLE_BODIES"
    )
    """Models (comma-separated) whose shadow disagreement samples keep the request body,
    sanitised and truncated; every other model's samples keep only its hash and shape."""

    shadow_min_hours: float = Field(
        default=24.0, ge=0, validation_alias="DEPLOYER_SHADOW_MIN_HOURS"
    )
    """Hours a version must spend in shadow before production."""

    min_shadow_comparisons: int = Field(
        default=1000, ge=1, validation_alias="DEPLOYER_MIN_SHADOW_COMPARISONS"
    )
    """Mirrored requests that must be compared before shadow agreement can pass."""

    min_shadow_agreement: float = Field(
        default=0.95, ge=0, le=1, validation_alias="DEPLOYER_MIN_SHADOW_AGREEMENT"
    )
    """Share of compared requests whose outputs must agree."""

    shadow_latency_ratio: float = Field(
        default=1.2, ge=1, allow_inf_nan=False, validation_alias="DEPLOYER_SHADOW_LATENCY_RATIO"
    )
    """At a move to production, the shadow's p95 may be at most this times the primary's over
    the same mirrored requests (the shadow latency gate)."""

    shadow_latency_slack_ms: float = Field(
        default=20.0, ge=0, allow_inf_nan=False, validation_alias="DEPLOYER_SHADOW_LATENCY_SLACK_MS"
    )
    """...or at most this many milliseconds above it, whichever is larger: the mirrored call runs
    beside the next user request on the same host, so a fast model's twin measures a few ms
    slower (bench/shadow_latency_gate.py); above a 100 ms p95 the ratio decides."""

    warm_seconds: float = Field(default=300.0, ge=0, validation_alias="DEPLOYER_WARM_SECONDS")
    """How long a replaced deployment stays warm for an instant rollback."""

    rollback_preset: str = Field(default="balanced", validation_alias="DEPLOYER_ROLLBACK_PRESET")
    """The rollback config a rollout is held to when memory advises nothing more cautious:
    conservative, balanced or aggressive."""

    max_error_rate: float | None = Field(
        default=None, ge=0, le=1, validation_alias="DEPLOYER_MAX_ERROR_RATE"
    )
    """Overrides the preset's error-rate threshold (a fraction: 0.01 is 1%)."""

    latency_multiplier: float | None = Field(
        default=None, ge=1, validation_alias="DEPLOYER_LATENCY_MULTIPLIER"
    )
    """Overrides the preset's bound on p95 and p99 against the stable baseline's."""

    min_requests: int | None = Field(default=None, ge=1, validation_alias="DEPLOYER_MIN_REQUESTS")
    """Overrides the preset's minimum of requests in a step before it can pass."""

    early_fail_confidence: float | None = Field(
        default=None,
        ge=0.9,
        le=1,
        allow_inf_nan=False,
        validation_alias="DEPLOYER_EARLY_FAIL_CONFIDENCE",
    )
    """Overrides the confidence (default 0.99) at which a step fails on errors before its
    minimum of requests (a one-sided binomial test, for the monitor and the gateway's ejection
    alike; 1: only when certain). ``lifecycle/certainty.py`` gives its false failures."""

    canary_step_seconds: float = Field(
        default=60.0, ge=0, validation_alias="DEPLOYER_CANARY_STEP_SECONDS"
    )
    """How long each canary step runs before the monitor may move it on."""

    stuck_deploy_seconds: float = Field(
        default=600.0, gt=0, validation_alias="DEPLOYER_STUCK_DEPLOY_SECONDS"
    )
    """How long a deploy may make no progress (no checkpoint, no mark) before ``deployer
    watch`` takes it as stuck: it resumes the deploy's thread, or rolls the deployment back."""

    retraining_min_train_rows: int = Field(
        default=30, ge=1, validation_alias="DEPLOYER_RETRAINING_MIN_TRAIN_ROWS"
    )
    """Labelled requests a retraining needs in its training file (fewer: the run fails)."""

    retraining_min_holdout_rows: int = Field(
        default=10, ge=1, validation_alias="DEPLOYER_RETRAINING_MIN_HOLDOUT_ROWS"
    )
    """Labelled requests it needs held out to evaluate the candidate against production."""

    retraining_tolerance: float = Field(
        default=0.0, ge=0, le=1, validation_alias="DEPLOYER_RETRAINING_TOLERANCE"
    )
    """How far below production (above, for an error metric) the candidate's primary metric
    may be and still count as a match."""

    retraining_shadow_traffic: float = Field(
        default=100.0, gt=0, le=100, validation_alias="DEPLOYER_RETRAINING_SHADOW_TRAFFIC"
    )
    """The mirror share of the shadow deploy a handed-over candidate is given."""

    retraining_stale_seconds: float = Field(
        default=3600.0, gt=0, validation_alias="DEPLOYER_RETRAINING_STALE_SECONDS"
    )
    """How long an active (running or evaluating) retraining run may make no progress before
    the watcher's retraining worker takes it as cut short and resumes it from its checkpoint.
    Keep it above the longest step (a training) takes."""

    retraining_resume_attempts: int = Field(
        default=2, ge=0, le=20, validation_alias="DEPLOYER_RETRAINING_RESUME_ATTEMPTS"
    )
    """How often the worker resumes a stalled run before it fails it (alerted) and frees the
    model for its next retraining."""

    watch_health_file: Path | None = Field(
        default=None, validation_alias="DEPLOYER_WATCH_HEALTH_FILE"
    )
    """A file ``deployer watch`` touches after each pass of its loop (a tick or a standby's
    look at the lease): the liveness signal ``python -m agents.entrypoints.watch_alive`` checks
    (the Kubernetes exec probe). Unset: no file."""
    ui_session_seconds: float = Field(
        default=8 * 3600, gt=0, le=30 * 86400, validation_alias="DEPLOYER_UI_SESSION_SECONDS"
    )
    """How long a login to the web dashboard (``/ui``) lasts before the person logs in again."""
    operation_stale_seconds: float = Field(
        default=30.0, gt=0, le=86400, validation_alias="DEPLOYER_OPERATION_STALE_SECONDS"
    )
    """How long a running API operation's heartbeat (moved every few seconds by the worker
    that runs it) may stay still before another API process's worker takes it as cut short
    and resumes its thread from its checkpoint."""
    operation_workers: int = Field(
        default=4, ge=1, le=32, validation_alias="DEPLOYER_OPERATION_WORKERS"
    )
    """How many accepted operations (deploy, promote, rollback) one API process runs at once;
    more wait queued."""

    @field_validator("rollback_preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        names = [p.value for p in RollbackPreset]
        if value.strip().lower() not in names:
            raise ValueError(f"unknown rollback preset {value!r}; expected one of {names}")
        return value.strip().lower()

    @property
    def rollback_overrides(self) -> dict[str, float]:
        """The rollback settings given in the environment, over the preset."""
        given = {
            "error_rate_threshold": self.max_error_rate,
            "latency_multiplier": self.latency_multiplier,
            "min_requests": self.min_requests,
            "early_fail_confidence": self.early_fail_confidence,
        }
        return {k: float(v) for k, v in given.items() if v is not None}

    @property
    def shadow_sample_bodies(self) -> frozenset[str]:
        """The models that opted in to raw request bodies in shadow samples."""
        return frozenset(n.strip() for n in self.shadow_sample_bodies_text.split(",") if n.strip())

    @cached_property
    def home_dir(self) -> Path:
        """The home as an absolute path (relative homes are taken from the current folder)."""
        return self.home.expanduser().resolve()

    @property
    def database_url(self) -> str:
        """The state database URL, SQLite in the home unless overridden."""
        return self.database_url_override or f"sqlite:///{self.home_dir / 'deployer.db'}"

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI, an SQLite store in the home unless overridden."""
        return self.tracking_uri_override or f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        """Where the embedded MLflow store keeps model artifacts."""
        return self.home_dir / "mlartifacts"

    @property
    def bentoml_home(self) -> Path:
        """The BentoML store (bentos and models) for this home."""
        return self.home_dir / "bentoml"

    @property
    def log_dir(self) -> Path:
        """Logs of the servers this home starts."""
        return self.home_dir / "logs"

    @property
    def gateway_dir(self) -> Path:
        """PID files of the gateways this home started."""
        return self.home_dir / "gateways"

    @property
    def gateway_token(self) -> str:
        """The admin token: DEPLOYER_GATEWAY_TOKEN, else one made once and kept in the home."""
        if self.gateway_token_override:
            return self.gateway_token_override
        path = self.home_dir / "gateway.token"
        if not path.exists():
            import secrets

            ensure_private_dir(self.home_dir)
            write_private_file(path, secrets.token_urlsafe(32))  # the first writer's wins
        return path.read_text().strip()

    def audit_key(self) -> bytes:
        """The audit chain's key: DEPLOYER_AUDIT_KEY, else the home's ``audit.key`` (made 0600
        on first need). Kept outside the database, so a database edit cannot re-sign the log."""
        from database.audit import load_or_create_key

        if self.audit_key_override:
            return self.audit_key_override.encode()
        return load_or_create_key(self.home_dir / "audit.key")

    @property
    def user(self) -> str:
        """The acting person of a local command: the OS user (``local_identity``)."""
        return local_identity()

    def ensure_home(self) -> Path:
        """Create the home (private: 0700, an existing looser one is tightened) and its
        sub-folders; a home that cannot be made is a config error."""
        ensure_private_dir(self.home_dir)
        try:
            for path in (self.artifact_root, self.bentoml_home, self.log_dir):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot use {self.home_dir} as DEPLOYER_HOME: {exc}") from exc
        return self.home_dir


RETIRED = {
    "DEPLOYER_USER": "local commands act as the OS user",
    "DEPLOYER_APPROVERS": "approvers are the users granted approver or admin",
    "DEPLOYER_API_TOKENS": "API tokens are per person, made by an admin",
}
"""Variables that used to claim an identity or grant a role, and what replaced them."""


def local_identity() -> str:
    """The OS user of this process's effective uid, from the password database: the one
    identity of a local command, which no flag or environment variable can change."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def refuse_retired_variables() -> None:
    """ConfigurationError naming the first retired variable that is set (see ``RETIRED``)."""
    for name, instead in RETIRED.items():
        if name in os.environ:
            raise ConfigurationError(
                f"{name} is no longer read: {instead}; unset it and use "
                "`deployer access grant USER ROLE` (and `deployer access token create USER`)"
            )


def load_settings() -> Settings:
    """Read the settings from the environment now (not cached: tests change the environment);
    a retired identity variable is refused."""
    refuse_retired_variables()
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ", ".join(str(part) for part in first.get("loc", ())) or "a setting"
        raise ConfigurationError(f"bad value for {where}: {first.get('msg')}") from None
