"""Blueprint: the open-tracking pixel that campaign emails load."""

from __future__ import annotations

from flask import Blueprint, Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

bp = Blueprint("tracking", __name__)


class NoCookieForThePixel(SecureCookieSessionInterface):
    """Flask refreshes a permanent session's cookie on every response; the pixel's response
    sets no cookie at all, whatever cookie the browser sent with it."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        return request.blueprint != bp.name and super().should_set_cookie(app, session)


@bp.record_once
def _no_cookie(state: object) -> None:
    state.app.session_interface = NoCookieForThePixel()  # type: ignore[attr-defined]


from alumni.tracking import routes  # noqa: E402, F401
