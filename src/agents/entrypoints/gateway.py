"""The gateway process's own entry point: ``python -m agents.entrypoints.gateway --port 8080``.

The gateway is a long-lived data plane; it needs the settings, the state database and the
gateway package, nothing else. Booting it through the Typer CLI loaded the whole command line
(rich, every command module) into its heap and its start-up; this entry point imports no Typer,
MLflow or LangGraph (``tests/unit/test_gateway_entrypoint.py`` holds it to that), and ``deployer
gateway`` is a thin alias of :func:`serve`. (It lives here and not in ``mlops.gateway``: the
gateway package knows no database and no settings, by the import direction.)
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from agents.bootstrap import bootstrap
from database.capture import DbCaptureStore
from lifecycle.errors import ModelDeployerError
from lifecycle.redaction import redact_text
from mlops.gateway.capture import CaptureConfig
from mlops.gateway.runner import serve_gateway


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    retry_on_stable: bool = True,
    upstream_timeout: float = 10.0,
) -> None:
    """Run the home's gateway in the foreground until SIGINT/SIGTERM (errors are raised)."""
    c = bootstrap()
    try:
        settings = c.settings
        print(
            f"gateway on http://{host}:{port}  (admin token in {settings.home_dir}/gateway.token"
            " unless DEPLOYER_GATEWAY_TOKEN is set)",
            flush=True,
        )
        serve_gateway(
            c.router,
            settings.gateway_dir,
            host,
            port,
            token=lambda: settings.gateway_token,
            flush_interval=settings.gateway_flush_seconds,
            retry_on_stable=retry_on_stable,
            upstream_timeout=upstream_timeout,
            sample_body_models=settings.shadow_sample_bodies,
            capture=DbCaptureStore(c.session_factory),
            capture_config=CaptureConfig(
                retention_seconds=settings.capture_retention_seconds,
                max_rows=settings.capture_max_rows,
            ),
            tuning=settings.gateway_tuning,  # per-upstream pools, deadlines, breakers
        )
    finally:
        c.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``deployer gateway``'s options and serve; an error is one line and an exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m agents.entrypoints.gateway",
        description="Run the traffic gateway in the foreground (stop with Ctrl-C or SIGTERM).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8080, choices=range(1, 65536), metavar="PORT")
    parser.add_argument(
        "--no-retry", action="store_true", help="Do not retry a canary's failures on stable."
    )
    parser.add_argument(
        "--upstream-timeout", type=float, default=10.0, help="Seconds per upstream call."
    )
    args = parser.parse_args(argv)
    if args.upstream_timeout < 0.1:
        parser.error("--upstream-timeout must be at least 0.1")
    try:
        serve(args.host, args.port, not args.no_retry, args.upstream_timeout)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except ModelDeployerError as exc:
        _fail(exc, exc.exit_code, str(exc))
    except Exception as exc:
        _fail(exc, 1, f"internal error: {type(exc).__name__}: {exc}".splitlines()[0])


def _fail(exc: BaseException, code: int, message: str) -> None:
    if os.environ.get("DEPLOYER_DEBUG") == "1":
        traceback.print_exception(exc, file=sys.stderr)
    sys.stderr.write(f"error: {redact_text(message)}\n")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
