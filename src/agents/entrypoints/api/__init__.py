"""The HTTP ops API (FastAPI): the CLI's use cases behind bearer tokens with roles.

``create_app(container)`` builds the app; ``deployer api`` serves it with uvicorn
(``server``). Tokens and roles: ``auth``; the error shape and status codes: ``errors``.
"""

from agents.entrypoints.api.app import create_app

__all__ = ["create_app"]
