"""The HTTP ops API (FastAPI): the CLI's use cases behind bearer tokens with roles.

``create_app(container)`` builds the app; ``deployer api`` serves it with uvicorn
(``agents.api.server``). Tokens and roles: ``agents.api.auth``; the error shape and status
codes: ``agents.api.errors``.
"""

from agents.api.app import create_app

__all__ = ["create_app"]
