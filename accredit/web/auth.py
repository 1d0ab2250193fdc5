"""Signing in and out."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from accredit.accounts import service as accounts
from accredit.policy import public, signed_in
from accredit.timefmt import uk_time
from accredit.web.security import client_address
from accredit.web.shell import home_endpoint

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        # No length or format check: every try, however malformed, is recorded and
        # counts towards the locks.
        validators=[InputRequired("Enter your email address")],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password"), Length(max=1024)],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


def safe_next(target: str | None) -> str | None:
    """Return a path on this site to go to after signing in, or None; never another site.

    Browsers drop tabs and newlines from addresses, read a backslash as a slash and
    undo percent-encoding, so each of those is undone (repeatedly) before checking,
    and anything that could still leave the site is refused.
    """
    if not target or len(target) > 2000:
        return None
    seen = target
    for _ in range(5):  # layered encodings such as %2509
        if _leaves_site(seen):
            return None
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return None


def _leaves_site(target: str) -> bool:
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        return True  # tabs, CR and LF: browsers drop them, headers cannot carry them
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return True
    parts = urlsplit(target)
    return bool(parts.scheme or parts.netloc)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user.role)))
    form = LoginForm()
    problem, status = None, 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.email.data or "", form.password.data or "", address=client_address()
            )
        except accounts.LoginThrottled as error:
            problem, status = throttled_message(error), 429
        except accounts.WrongPassword as error:
            problem, status = error.message, 200
            if error.locked_until:
                problem += f". Sign in is now paused until {uk_time(error.locked_until, '%H:%M')}"
        except accounts.AccountInactive as error:
            problem, status = error.message, 403
        else:
            # A fresh session at sign-in: nothing from before (a planted session id,
            # an old CSRF token) carries over.
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(
                safe_next(request.args.get("next")) or url_for(home_endpoint(user.role))
            )
    elif form.is_submitted():
        status = 200
    return render_template("auth/login.html", form=form, problem=problem), status


def throttled_message(error: accounts.LoginThrottled) -> str:
    return (
        "Too many failed sign-in attempts. For your security, signing in is paused until "
        f"{uk_time(error.until, '%H:%M on %-d %B')}. Try again then, or contact your administrator"
    )


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> Response:
    # Ends the session on the server too: a copy of this cookie is refused from now on.
    accounts.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", signed_out=1))
