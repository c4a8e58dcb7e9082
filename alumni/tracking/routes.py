"""``GET /o/<token>.gif``: always the same 1x1 GIF, whatever the token.

The request is read for its path only: no address, user agent, referrer or cookie is looked
at or kept, and nothing is set. gunicorn's access log leaves these requests out
(``alumni.access_log``). A forged or malformed token is answered the same way, uncounted, so
the answer tells nobody whether a token is genuine.
"""

from __future__ import annotations

import base64

from flask import Response

from alumni import opens
from alumni.extensions import limiter
from alumni.tracking import bp

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

limiter.exempt(bp)  # a rate limit would key on the client's address


@bp.get("/o/<token>.gif")
def pixel(token: str) -> Response:
    opens.record_open(token)
    return gif()


@bp.get("/o/<path:anything>")
def not_a_pixel(anything: str) -> Response:
    """Anything else under /o/ is a broken pixel: an image still, never an HTML page."""
    return gif()


def gif() -> Response:
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store"})
