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
def _keep_opens_private(state: object) -> None:
    from alumni.access_log import quiet_dev_server

    state.app.session_interface = NoCookieForThePixel()  # type: ignore[attr-defined]
    quiet_dev_server()


from alumni.tracking import routes  # noqa: E402, F401
