"""Staff pages: log in and out, the dashboard, the password. Every page but the login needs a
logged-in staff member with the right role (I9); state changes are POSTs with a CSRF token."""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException

from alumni import audit
from alumni.accounts import sso as sso_accounts
from alumni.accounts import staff as accounts
from alumni.accounts.access import may
from alumni.consent import renewal, statistics
from alumni.extensions import db, limiter
from alumni.models import Role, StaffUser
from alumni.models.purpose import Purpose
from alumni.web.staff import bp, dashboard, known_browser
from alumni.web.staff.forms import LoginForm, PasswordForm, ReauthenticateForm
from alumni.web.staff.session import (
    METHOD,
    SignedInStaff,
    begin_session,
    identity_confirmed,
    role_required,
    signed_in_with_sso,
)

# Kept in the WSGI environ, which lives exactly as long as the request.
REFUSED = "alumni.credentials_refused"
# In the session of a logged-in staff member: how they passed the second step.
SECOND_FACTOR_PASSED = "second_factor_passed"
# Rate-limited steps where a wrong second-factor code is refused.
SECOND_STEP_ENDPOINTS = frozenset(
    {
        "staff.second_factor",
        "staff.second_factor_passkey",
        "staff.security_recovery_codes",
        "staff.security_totp",
        "staff.security_passkey_options",
    }
)


def mark_refused() -> None:
    request.environ[REFUSED] = True


def refused(response: Response) -> bool:
    """Rate limits count refused credentials only, not successful logins."""
    return bool(request.environ.get(REFUSED))


def typed_account_key() -> str:
    """The per-account rate-limit key: a keyed hash of the address typed, never the address."""
    return "staff-login:" + accounts.typed_email_key(request.form.get("email", ""))


def typed_account_and_address_key() -> str:
    """Failures per account *and* client address: guessing from elsewhere does not use up the
    real user's tries from their own address."""
    return f"{typed_account_key()}:{request.remote_addr}"


def own_account_key() -> str:
    return f"staff-password:{getattr(current_user, 'id', 'anonymous')}"


def start_session(
    staff: StaffUser, *, method: str | None = None, second_factor: str | None = None
) -> None:
    """A fresh session for this browser (no fixation), with its time limits starting now.

    ``method`` names how the first factor was proven ("password" or "sso"), ``second_factor``
    how the second step was passed; None keeps this session's own (a password change starts a
    fresh session for someone who passed both already)."""
    method = method or session.get(METHOD) or "password"
    passed = second_factor or session.get(SECOND_FACTOR_PASSED)
    session.clear()
    login_user(SignedInStaff(staff))
    session.permanent = True
    begin_session(method)
    if passed:
        session[SECOND_FACTOR_PASSED] = passed


def first_factor_passed(
    staff: StaffUser, target: str | None, *, method: str = "password"
) -> Response:
    """Every way in ends here once the first factor is proven (a password, or the school's
    identity provider): on to the second step, or to enrolment when the account has no second
    factor yet (``alumni.web.staff.second_factor``)."""
    from alumni.web.staff.second_factor import begin_second_step

    return begin_second_step(staff, local_target(target), method=method)


def local_target(target: str | None) -> str | None:
    """``next`` only when it is a path on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@bp.context_processor
def staff_helpers() -> dict[str, Any]:
    return {
        "role_label": lambda role: Role(role).label,
        "may": may,
        "sso_enabled": sso_accounts.sso_enabled(current_app.config),
        "password_login": sso_accounts.password_login_allowed(current_app.config),
    }


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# Three limits, each counting refused credentials only: per client address (whatever the
# account), per account and address (the usual guard), and a far higher ceiling per account over
# all addresses (a guesser with many addresses). A stranger's failures never count against the
# real user's own address, and a browser that logged in to the account before is not held to
# the ceiling: nobody can lock the real user out.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=refused
)
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_ADDRESS"],
    methods=["POST"],
    key_func=typed_account_and_address_key,
    deduct_when=refused,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=typed_account_key,
    deduct_when=refused,
    exempt_when=known_browser.knows_typed_account,
)
def login() -> Any:
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    error = None
    if request.method == "POST" and not sso_accounts.password_login_allowed(current_app.config):
        return refuse_password()
    if form.validate_on_submit():
        result = accounts.check_login(form.email.data, form.password.data)
        accounts.record_login(form.email.data, result, address=request.remote_addr)
        db.session.commit()
        if result.accepted:
            response = first_factor_passed(result.staff, request.args.get("next"))
            known_browser.remember(response, result.staff.email)
            return response
        mark_refused()
        if result.refusal is accounts.LoginRefusal.INACTIVE:
            # Said only to someone who knows the password.
            error = _("This account is switched off. Ask an administrator.")
        else:  # the same words for an unknown address: nobody learns who has an account
            error = _("The email address or the password is not correct.")
    status = 400 if form.errors or error else 200
    return render_template("staff/login.html", form=form, error=error), status


def refuse_password() -> tuple[str, int]:
    """Only single sign-on is allowed: a posted password is not even looked at."""
    audit.record(
        "staff.login",
        actor="anonymous",
        method="password",
        outcome="failure",
        reason=str(sso_accounts.SsoRefusal.PASSWORD_LOGIN_OFF),
        address=request.remote_addr,
    )
    db.session.commit()
    mark_refused()
    error = sso_accounts.SsoRefusal.PASSWORD_LOGIN_OFF.label
    return render_template("staff/login.html", form=LoginForm(), error=error), 403


@bp.post("/logout")
@role_required()
def logout() -> Any:
    staff = current_user.staff
    accounts.rotate_session(staff)  # every session of this account ends, also copied cookies
    audit.record("staff.logout", actor=accounts.actor_of(staff))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "success")
    return redirect(url_for("staff.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@role_required()
@limiter.limit(  # only this account reaches the page: per account is per person
    lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_ADDRESS"],
    methods=["POST"],
    key_func=own_account_key,
    deduct_when=refused,
)
def password() -> Any:
    if not sso_accounts.password_login_allowed(current_app.config):
        abort(404)  # only the school's provider signs staff in: a password would open nothing
    form = PasswordForm()
    if form.validate_on_submit():
        staff = current_user.staff
        try:
            accounts.change_password(
                staff,
                form.current_password.data,
                form.new_password.data,
                address=request.remote_addr,
            )
        except accounts.AccountError as refusal:
            db.session.commit()  # the refusal's audit entry
            if refusal.code == "wrong-password":
                mark_refused()
                field = form.current_password
            else:
                field = form.new_password
            field.errors = [*field.errors, str(refusal)]
        else:
            db.session.commit()
            start_session(staff)  # this browser stays logged in; every other session ends
            flash(
                _("Your password has been changed. You are logged out everywhere else."), "success"
            )
            return redirect(url_for("staff.dashboard"), code=303)
    return render_template(
        "staff/password.html", form=form, min_length=accounts.MIN_PASSWORD_LENGTH
    ), (400 if form.errors else 200)


@bp.route("/confirm", methods=["GET", "POST"])
@role_required()
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=own_account_key,
    deduct_when=refused,
)
def reauthenticate() -> Any:
    """Prove it is you again before a sensitive action, then back to it. Who signed in with
    the school's provider signs in there again (it is asked to prompt for the login)."""
    target = local_target(request.args.get("next")) or url_for("staff.dashboard")
    sso_only = signed_in_with_sso() or not sso_accounts.password_login_allowed(current_app.config)
    form = ReauthenticateForm()
    if not sso_only and form.validate_on_submit():
        staff = current_user.staff
        if accounts.verify_password(staff, form.password.data):
            identity_confirmed()
            audit.record("staff.reauthenticated", actor=accounts.actor_of(staff), outcome="success")
            db.session.commit()
            return redirect(target, code=303)
        audit.record(
            "staff.reauthenticated",
            actor=accounts.actor_of(staff),
            outcome="failure",
            reason=str(accounts.LoginRefusal.WRONG_PASSWORD),
            address=request.remote_addr,
        )
        db.session.commit()
        mark_refused()
        form.password.errors = [*form.password.errors, _("Your password is not correct.")]
    page = render_template("staff/reauthenticate.html", form=form, sso_only=sso_only, target=target)
    return page, (400 if form.errors else 200)


@bp.get("/", endpoint="dashboard")
@role_required()
def dashboard_page() -> str:
    staff = current_user.staff
    context: dict[str, Any] = {"sections": dashboard.sections_for(staff)}
    if staff.role is Role.RESEARCHER:
        # Researchers see nothing about alumni but the size of their own export.
        context["research_consents"] = statistics.granted_by_purpose()[Purpose.RESEARCH]
    else:
        context["by_status"] = statistics.alumni_by_status()
        context["by_purpose"] = statistics.granted_by_purpose()
        context["renewal"] = renewal.progress()
    return render_template("staff/dashboard.html", **context)


@bp.get("/overview")
@role_required(Role.OFFICER)
def overview() -> str:
    return render_template("staff/overview.html", cohorts=statistics.consent_by_cohort())


@bp.errorhandler(403)
@bp.errorhandler(429)
def staff_error(error: HTTPException) -> tuple[str, int]:
    db.session.rollback()
    code = error.code or 500
    minutes = None
    if code == 429:
        minutes = minutes_to_wait()
        record_rate_limited()
    return render_template("staff/error.html", code=code, minutes=minutes), code


def minutes_to_wait() -> int:
    """Until the longest breached window ends (Flask-Limiter rounds reset_at up a second)."""
    breached = [limit.reset_at for limit in limiter.current_limits if limit.breached]
    seconds = max(breached, default=0) - 1 - time.time()
    return max(1, math.ceil(seconds / 60))


def record_rate_limited() -> None:
    """A refused attempt is an attempt too: into the audit log."""
    if request.endpoint == "staff.login":
        typed = request.form.get("email", "")
        result = accounts.LoginResult(accounts.find_staff(typed), "rate-limited")
        accounts.record_login(typed, result, address=request.remote_addr)
    elif request.endpoint == "staff.sso_callback":
        audit.record(
            "staff.login",
            actor="anonymous",
            method="sso",
            outcome="failure",
            reason="rate-limited",
            address=request.remote_addr,
        )
    elif request.endpoint in SECOND_STEP_ENDPOINTS:
        from alumni.web.staff.second_factor import record_rate_limited_second_step

        if not record_rate_limited_second_step():
            return
    elif (
        request.endpoint in ("staff.password", "staff.reauthenticate")
        and current_user.is_authenticated
    ):
        audit.record(
            "staff.password_change",
            actor=accounts.actor_of(current_user.staff),
            outcome="failure",
            reason="rate-limited",
            address=request.remote_addr,
        )
    else:
        return
    db.session.commit()
