"""The web dashboard: ``/ui`` on the ops API (issue 18).

Server-rendered HTML (Jinja2 templates shipped in this package), charts drawn on the server as
SVG (``charts``), one small vendored script that refreshes each page's live part
(``static/live.js``; without it, the page still works and reloads itself). Pages read through
``agents.queries``; every action goes through ``operations.execute`` as the person logged in,
so the API's gates, roles, four-eyes rule and audit apply unchanged. Sessions: ``sessions``.

``routes.router`` is what ``api.app.create_app`` registers; the bearer-token guard leaves
``/ui`` paths to this package, which checks the session cookie on every page and action.
"""
