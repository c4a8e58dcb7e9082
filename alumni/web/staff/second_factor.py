"""The second step of a staff login, and enrolment of a first second factor.

After the password (or single sign-on) the session holds only a *pending* marker: the account,
its session token, when, and where to go next. It lives ``SECOND_FACTOR_PENDING_SECONDS`` and
opens no staff page: every staff page sends the browser to the second step, or to enrolment
when the account has no second factor yet and needs one. Only after the second step does
Flask-Login's session start (``routes.start_session``). Wrong codes are rate-limited per account
and go into the audit log.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from alumni.accounts import passkeys
from alumni.accounts import second_factor as factors
from alumni.extensions import db, limiter
from alumni.models import StaffUser
from alumni.web.staff import bp
from alumni.web.staff.forms import CodeForm
from alumni.web.staff.routes import (
    SECOND_FACTOR_PASSED,
    mark_refused,
    refused,
    start_session,
)
from alumni.web.staff.session import METHOD

PENDING = "second_factor_pending"
TOTP_CANDIDATE = "totp_candidate"
CHALLENGE = "webauthn_challenge"

# Reachable with a pending marker (all other staff pages send the browser on).
SECOND_STEP = frozenset(
    {
        "staff.second_factor",
        "staff.second_factor_passkey_options",
        "staff.second_factor_passkey",
        "staff.second_factor_cancel",
    }
)
ENROLMENT = frozenset(
    {
        "staff.enrol",
        "staff.enrol_passkey_options",
        "staff.enrol_passkey",
        "staff.enrol_finish",
        "staff.second_factor_cancel",
    }
)
ALWAYS_OPEN = frozenset({"staff.login", "staff.sso_start", "staff.sso_callback"})


# -- the pending marker -----------------------------------------------------------------------


def pending_marker(
    staff: StaffUser, *, target: str | None, enrol: bool, method: str
) -> dict[str, Any]:
    """What the session holds between the first factor and the second step."""
    return {
        "id": staff.id,
        "token": staff.session_token,
        "at": int(time.time()),
        "next": target,
        "enrol": enrol,
        "method": method,
    }


def begin_second_step(staff: StaffUser, target: str | None, *, method: str) -> Response:
    """The first factor is proven (``method``: "password" or "sso"): a fresh session holding
    only the pending marker."""
    session.clear()  # no fixation: nothing of the anonymous session carries over
    if not factors.enrolled(staff) and not factors.required(staff, current_app.config):
        start_session(staff, method=method, second_factor=factors.SecondFactorMethod.NOT_REQUIRED)
        return redirect(target or url_for("staff.dashboard"), code=303)
    enrol = not factors.enrolled(staff)
    session[PENDING] = pending_marker(staff, target=target, enrol=enrol, method=method)
    return redirect(url_for("staff.enrol" if enrol else "staff.second_factor"), code=303)


def pending_staff() -> StaffUser | None:
    """The account of a pending marker that is fresh, whose sessions did not end meanwhile."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    age = time.time() - pending.get("at", 0)
    if not 0 <= age <= current_app.config["SECOND_FACTOR_PENDING_SECONDS"]:
        return None
    staff = db.session.get(StaffUser, pending.get("id"))
    if staff is None or not staff.active or staff.session_token != pending.get("token"):
        return None
    return staff


def finish_second_step(staff: StaffUser, method: factors.SecondFactorMethod) -> str:
    """The session starts; returns where the browser goes on to."""
    pending = session.get(PENDING, {})
    target, first_factor = pending.get("next"), pending.get("method", "password")
    factors.record_attempt(
        staff, outcome="success", method=str(method), address=request.remote_addr
    )
    db.session.commit()
    start_session(staff, method=first_factor, second_factor=str(method))
    return target or url_for("staff.dashboard")


@bp.before_request
def second_factor_gate() -> Any:
    """No staff page before the second step; no session without a second factor."""
    endpoint = request.endpoint or ""
    if current_user.is_authenticated:
        if not session.get(SECOND_FACTOR_PASSED):
            # A session that never passed the second step (made before it existed): over.
            logout_user()
            session.clear()
            return redirect(url_for("staff.login"))
        staff = current_user.staff
        if factors.needs_enrolment(staff, current_app.config):
            # Required now but not there (researchers switched on): enrol before anything else.
            method = session.get(METHOD) or "password"
            logout_user()
            session.clear()
            session[PENDING] = pending_marker(staff, target=None, enrol=True, method=method)
            return redirect(url_for("staff.enrol"))
        return None
    if endpoint in ALWAYS_OPEN:
        return None
    if PENDING not in session:
        if endpoint in SECOND_STEP | ENROLMENT:  # no password typed yet
            return redirect(url_for("staff.login"))
        return None
    if pending_staff() is None:
        session.pop(PENDING, None)
        session.pop(TOTP_CANDIDATE, None)
        flash(_("That took too long. Please log in again."), "info")
        return redirect(url_for("staff.login"))
    enrol = session[PENDING]["enrol"]
    if endpoint in (ENROLMENT if enrol else SECOND_STEP):
        return None
    return redirect(url_for("staff.enrol" if enrol else "staff.second_factor"))


def pending_account_key() -> str:
    """The rate-limit key of the second step: the account, whatever the client address."""
    pending = session.get(PENDING) or {}
    who = pending.get("id") if isinstance(pending, dict) else None
    if who is None and current_user.is_authenticated:
        who = current_user.id
    return f"staff-second-factor:{who}"


def second_step_limit() -> Any:
    return limiter.limit(
        lambda: current_app.config["SECOND_FACTOR_RATE_LIMIT"],
        methods=["POST"],
        key_func=pending_account_key,
        deduct_when=refused,
    )


def record_rate_limited_second_step() -> bool:
    staff = pending_staff() or (current_user.staff if current_user.is_authenticated else None)
    if staff is None:
        return False
    factors.record_attempt(
        staff, outcome="failure", reason="rate-limited", address=request.remote_addr
    )
    return True


def refuse_code(staff: StaffUser, refusal: factors.SecondFactorRefusal, method: str) -> None:
    factors.record_attempt(
        staff, outcome="failure", method=method, reason=str(refusal), address=request.remote_addr
    )
    db.session.commit()
    mark_refused()


# -- the second step --------------------------------------------------------------------------


@bp.route("/second-factor", methods=["GET", "POST"])
@second_step_limit()
def second_factor() -> Any:
    staff = pending_staff()
    if staff is None:
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            method = factors.verify_code(staff, form.code.data)
        except factors.SecondFactorError as error:
            db.session.rollback()
            kind = "totp" if factors.looks_like_totp(form.code.data) else "recovery-code"
            refuse_code(staff, error.refusal, kind)
            form.code.errors = [*form.code.errors, str(error)]
        else:
            return redirect(finish_second_step(staff, method), code=303)
    return render_template(
        "staff/second_factor.html", form=form, staff=staff, has_passkeys=bool(staff.passkeys)
    ), (400 if form.errors else 200)


@bp.post("/second-factor/passkey/options")
def second_factor_passkey_options() -> Any:
    staff = pending_staff()
    if staff is None or not staff.passkeys:
        return jsonify(error="no-passkey"), 400
    options, session[CHALLENGE] = passkeys.authentication_options(staff, current_app.config)
    return Response(options, mimetype="application/json")


@bp.post("/second-factor/passkey")
@second_step_limit()
def second_factor_passkey() -> Any:
    staff = pending_staff()
    challenge = session.pop(CHALLENGE, None)  # one use, whatever the outcome
    if staff is None or challenge is None:
        return jsonify(error="expired", redirect=url_for("staff.login")), 400
    try:
        passkeys.verify_passkey(
            staff, request.get_data(as_text=True), challenge, current_app.config
        )
    except factors.SecondFactorError as error:
        db.session.rollback()
        refuse_code(staff, error.refusal, "passkey")
        return jsonify(error=str(error)), 400
    return jsonify(redirect=finish_second_step(staff, factors.SecondFactorMethod.PASSKEY))


@bp.post("/second-factor/cancel")
def second_factor_cancel() -> Any:
    session.clear()
    return redirect(url_for("staff.login"), code=303)


# -- enrolment --------------------------------------------------------------------------------


def totp_candidate() -> str:
    """The key offered on the enrolment page, the same until it is confirmed."""
    if not session.get(TOTP_CANDIDATE):
        session[TOTP_CANDIDATE] = factors.new_totp_secret()
    return session[TOTP_CANDIDATE]


def totp_page_context(staff: StaffUser) -> dict[str, Any]:
    secret = totp_candidate()
    uri = factors.provisioning_uri(staff, secret, current_app.config["ORGANISATION_NAME"])
    return {"secret": secret, "qr": factors.qr_svg(uri)}


def show_recovery_codes(staff: StaffUser, codes: list[str], target: str | None) -> str:
    return render_template(
        "staff/recovery_codes.html", codes=codes, target=target or url_for("staff.dashboard")
    )


@bp.route("/enrol", methods=["GET", "POST"])
@second_step_limit()
def enrol() -> Any:
    staff = pending_staff()
    if staff is None:
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            factors.enrol_totp(staff, totp_candidate(), form.code.data)
        except factors.SecondFactorError as error:
            db.session.rollback()
            refuse_code(staff, error.refusal, "totp-enrolment")
            form.code.errors = [*form.code.errors, str(error)]
        else:
            return complete_enrolment(staff, factors.SecondFactorMethod.TOTP)
    return render_template(
        "staff/enrol.html", form=form, staff=staff, **totp_page_context(staff)
    ), (400 if form.errors else 200)


def complete_enrolment(staff: StaffUser, method: factors.SecondFactorMethod) -> str:
    """A second factor is there: ten recovery codes, shown on this page only, and the session."""
    codes = factors.new_recovery_codes(staff)
    target = finish_second_step(staff, method)  # commits
    return show_recovery_codes(staff, codes, target)


@bp.post("/enrol/passkey/options")
def enrol_passkey_options() -> Any:
    staff = pending_staff()
    if staff is None:
        return jsonify(error="expired"), 400
    options, session[CHALLENGE] = passkeys.registration_options(staff, current_app.config)
    return Response(options, mimetype="application/json")


@bp.post("/enrol/passkey")
def enrol_passkey() -> Any:
    staff = pending_staff()
    challenge = session.pop(CHALLENGE, None)
    if staff is None or challenge is None:
        return jsonify(error="expired"), 400
    try:
        passkeys.register_passkey(
            staff, request.get_data(as_text=True), challenge, current_app.config
        )
    except factors.SecondFactorError as error:
        db.session.rollback()
        refuse_code(staff, error.refusal, "passkey-enrolment")
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(finish=url_for("staff.enrol_finish"))


@bp.post("/enrol/finish")
def enrol_finish() -> Any:
    """After a passkey's registration (by script): the recovery codes, and the session."""
    staff = pending_staff()  # the CSRF token is checked by CSRFProtect, as on every POST
    if staff is None or not staff.passkeys:
        return redirect(url_for("staff.login"), code=303)
    return complete_enrolment(staff, factors.SecondFactorMethod.PASSKEY)
