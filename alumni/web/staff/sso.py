"""Staff single sign-on with the school's identity provider (OpenID Connect, Authlib's client).

``GET /staff/sso`` sends the browser to the provider with a fresh ``state``, ``nonce`` and PKCE
challenge (S256), kept in this browser's session; ``GET /staff/sso/callback`` takes the
provider's answer. Authlib refuses an answer whose state is not this browser's, redeems the
code with the PKCE verifier, and checks the ID token's signature (the provider's published
keys), issuer, audience, expiry and nonce. ``alumni.accounts.sso`` then decides which account
and role that is, and the session starts on the same path as a password login
(``routes.first_factor_passed``).

The sign-in starts with a link, not a form: the strict CSP's ``form-action 'self'`` would stop a
form's redirect to the provider. Starting a sign-in stores nothing but the state in the session.
"""

from __future__ import annotations

from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, current_app, render_template, request, session, url_for
from joserfc.errors import JoseError

from alumni.accounts import sso
from alumni.extensions import db, limiter
from alumni.web.staff import bp
from alumni.web.staff.forms import LoginForm
from alumni.web.staff.routes import first_factor_passed, local_target, mark_refused, refused

CLIENT = "school"  # the one identity provider, as Authlib names its client
NEXT_KEY = "sso_next"
TIMEOUT_SECONDS = 10


def provider() -> Any:
    return current_app.extensions[OAuth.__module__].create_client(CLIENT)


def callback_url() -> str:
    """The redirect URI registered at the provider: from BASE_URL, as proxies may rewrite."""
    return current_app.config["BASE_URL"] + url_for("staff.sso_callback")


def refuse(refusal: sso.SsoRefusal, staff: Any = None, status: int = 403) -> tuple[str, int]:
    """The login page with the reason in words; the attempt into the audit log."""
    sso.record_sso_login(sso.SsoResult(staff, refusal), address=request.remote_addr)
    db.session.commit()
    mark_refused()
    page = render_template("staff/login.html", form=LoginForm(), error=refusal.label)
    return page, status


@bp.get("/sso")
def sso_start() -> Any:
    if not sso.sso_enabled(current_app.config):
        abort(404)
    client = provider()
    try:
        metadata = client.load_server_metadata()
        if metadata.get("issuer", "").rstrip("/") != current_app.config["OIDC_ISSUER"]:
            # OpenID Connect Discovery 4.3: the document must name the issuer we trust.
            current_app.logger.error("OIDC_ISSUER differs from the provider's own issuer")
            return refuse(sso.SsoRefusal.PROVIDER_UNREACHABLE, status=503)
        forget_earlier_sign_ins()
        session[NEXT_KEY] = local_target(request.args.get("next"))
        if request.args.get("reauth"):
            # Re-authentication: the provider must ask again, not wave a known browser through.
            return client.authorize_redirect(callback_url(), prompt="login")
        return client.authorize_redirect(callback_url())
    except requests.RequestException:
        return refuse(sso.SsoRefusal.PROVIDER_UNREACHABLE, status=503)


@bp.get("/sso/callback")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], deduct_when=refused)
def sso_callback() -> Any:
    if not sso.sso_enabled(current_app.config):
        abort(404)
    client = provider()
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):  # no ID token: not OpenID Connect, nobody is vouched for
            return refuse(sso.SsoRefusal.BAD_ID_TOKEN)
        claims |= user_info(client, token, claims["sub"])
    except MismatchingStateError:
        return refuse(sso.SsoRefusal.BAD_STATE, status=400)
    except OAuthError:
        # An error in the answer (access_denied) or from the token endpoint (invalid_grant:
        # a code without its PKCE verifier, used twice, or too old).
        refusal = (
            sso.SsoRefusal.PROVIDER_ERROR
            if "error" in request.args
            else sso.SsoRefusal.TOKEN_REFUSED
        )
        return refuse(refusal)
    except (JoseError, AuthlibBaseError, ValueError):
        return refuse(sso.SsoRefusal.BAD_ID_TOKEN)
    except requests.RequestException:
        return refuse(sso.SsoRefusal.PROVIDER_UNREACHABLE, status=503)
    result = sso.sign_in(claims, sso.SsoSettings.from_config(current_app.config))
    if not result.accepted:
        db.session.commit()  # a role change or ended sessions stand, refused or not
        return refuse(result.refusal, result.staff)  # type: ignore[arg-type]
    sso.record_sso_login(result, address=request.remote_addr)
    db.session.commit()
    return first_factor_passed(
        result.staff,  # type: ignore[arg-type]
        session.pop(NEXT_KEY, None),
        method="sso",
    )


def forget_earlier_sign_ins() -> None:
    """One sign-in at a time per browser: an older state no longer counts, and the cookie
    does not grow with every press of the button."""
    for key in [key for key in session if key.startswith(f"_state_{CLIENT}_")]:
        del session[key]


def user_info(client: Any, token: dict[str, Any], subject: str) -> dict[str, Any]:
    """The claims of the userinfo endpoint, which many providers keep out of the ID token.

    OpenID Connect Core 5.3.2: they count only when their ``sub`` is the ID token's.
    """
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return {}
    claims = dict(client.userinfo(token=token))
    if claims.get("sub") != subject:
        raise ValueError("userinfo names another subject")
    return claims


def init_app(app: Flask) -> None:
    """One OAuth registry per app (tests run several apps, each with its own provider)."""
    config = app.config
    if not config["STAFF_PASSWORD_LOGIN"] and not sso.sso_enabled(config):
        raise ValueError("STAFF_PASSWORD_LOGIN=off needs OIDC_ISSUER: nobody could log in")
    oauth = OAuth(app)
    if not sso.sso_enabled(config):
        return
    if not (config["OIDC_CLIENT_ID"] and config["OIDC_CLIENT_SECRET"]):
        raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
    if not config["OIDC_ROLE_MAP"]:
        raise ValueError("OIDC_ISSUER needs OIDC_ROLE_MAP: without roles nobody could log in")
    oauth.register(
        CLIENT,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        server_metadata_url=config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": config["OIDC_SCOPE"],
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT_SECONDS,
        },
    )
