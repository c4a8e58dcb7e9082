"""The JSON API under ``/api/v1``: campaigns and audience counts for scripts.

Callers authenticate with a bearer token (``flask --app wsgi staff token EMAIL``) that carries
their staff role; the OpenAPI document at ``/api/v1/openapi.json`` describes every endpoint
for scripts. Mail providers post bounces and complaints to ``/api/v1/bounces/<provider>``
(``bounces.py``), authenticated by their own signature or credentials instead.
"""

from flask import Blueprint

from alumni.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens and no cookies: a cross-site request has no credentials to ride on.
csrf.exempt(bp)

from alumni.web.api import auth, bounces, errors, routes  # noqa: E402, F401
