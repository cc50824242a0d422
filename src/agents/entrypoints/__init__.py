"""Entry points: the CLI, the HTTP ops API, the chat ops, the watcher and the demo.

Only entry points (and ``model_deployer/studio.py``) import ``agents.bootstrap``.
"""
