"""The web UI's ML pages: a presentation layer beside the MLflow dialect (``compat.mlflow``), at
GitLab's URLs ``/<namespace>/<project>/-/ml/{experiments,candidates,models}``.

Server-rendered HTML (Jinja2 templates shipped in this package) with a little JavaScript that draws
plotly.js charts from read-only JSON under the same prefix. It signs people in through
``tenants.web`` (session cookie + CSRF) and authorises with ``tenants.authorization.require``, the
function the API uses. Must not: speak MLflow's wire format or import ``compat.mlflow``.
"""
